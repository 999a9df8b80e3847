// derive(Classify): a `transparent` field must classify itself.
use retry_runtime::Classify;

#[derive(Debug)]
struct ParseError;

#[derive(Debug, Classify)]
enum ConfigError {
    #[classify(transparent)]
    Parse(ParseError),
}

fn main() {}
