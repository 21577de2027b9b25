//! This machine's name, asked of the system once: lock holders and shared events carry it.

use std::sync::OnceLock;

/// The host name.
pub fn name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| gethostname::gethostname().to_string_lossy().into_owned())
}
