// Sync functions: free, `&self`, `&mut self` with `idempotent`, generics,
// lifetimes, by-value `Clone` arguments, `impl Trait` arguments, `?` and `return`.
use retry_runtime::retryable;
use std::fmt::Display;
use std::io;

struct Store {
    items: Vec<String>,
}

impl Store {
    #[retryable(policy = "network")]
    fn get(&self, index: usize) -> io::Result<&str> {
        self.items
            .get(index)
            .map(String::as_str)
            .ok_or_else(|| io::ErrorKind::NotFound.into())
    }

    #[retryable(idempotent)]
    fn put(&mut self, item: String) -> io::Result<usize> {
        if item.is_empty() {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        self.items.push(item);
        Ok(self.items.len())
    }
}

#[retryable]
fn first<'a, T: Clone + Display>(items: &'a [T], label: impl Display + Clone, fallback: T) -> io::Result<String> {
    let item = items.first().cloned().unwrap_or(fallback);
    Ok(format!("{label}: {item}"))
}

#[retryable(name = "parse")]
fn parse(text: String) -> io::Result<u32> {
    let n = text
        .trim()
        .parse::<u32>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(n)
}

fn main() {
    let mut store = Store { items: Vec::new() };
    assert_eq!(store.put("a".to_owned()).unwrap(), 1);
    assert_eq!(store.get(0).unwrap(), "a");
    assert_eq!(first(&[1, 2], "n", 0).unwrap(), "n: 1");
    assert_eq!(parse(" 7 ".to_owned()).unwrap(), 7);
}
