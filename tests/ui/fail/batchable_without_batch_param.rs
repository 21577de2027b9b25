// `batchable` says whether an instance may join a batch; with no batch parameter there is none.
#[kart_core::task(output = "x/{n}.json", batchable = n > 1)]
fn lonely(n: u32) -> u32 {
    n
}

fn main() {}
