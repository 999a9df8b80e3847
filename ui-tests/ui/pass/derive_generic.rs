// derive(Classify) on a generic enum: `E: Classify` is needed only for the transparent field.
use retry_runtime::{Class, Classify, Rejected, retryable};

#[derive(Debug, Classify)]
enum Layered<E, M: Clone> {
    #[classify(transparent)]
    Inner(E),
    #[classify(permanent)]
    Meta(M),
}

impl<E, M: Clone> From<Rejected> for Layered<E, M> where E: From<Rejected> {
    fn from(r: Rejected) -> Self {
        Layered::Inner(E::from(r))
    }
}

#[retryable(policy = "none")]
async fn call<M: Clone + Send>(meta: M) -> Result<(), Layered<std::io::Error, M>> {
    Err(Layered::Meta(meta))
}

struct NotClassify;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(call(1u8).await.unwrap_err().classify(), Class::Permanent);
    let e: Layered<std::io::Error, ()> = Layered::Inner(std::io::ErrorKind::TimedOut.into());
    assert_eq!(e.classify(), Class::Transient);
    // `M` needs no `Classify`.
    let _ = Layered::<Rejected, NotClassifyClone>::Meta(NotClassifyClone).classify();
    let _ = NotClassify;
}

#[derive(Clone)]
struct NotClassifyClone;
