//! Writing to stdout and stderr without ever panicking: `println!` panics when the pipe is
//! closed (`<bin> deps X | head -1`), and a panic in a worker or the signal thread would hang
//! the run. A reader that went away just stops getting output.

/// `println!` that ignores a closed stdout.
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` that ignores a closed stdout.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let mut out = ::std::io::stdout().lock();
        let _ = ::std::write!(out, $($arg)*);
        let _ = out.flush();
    }};
}

/// `eprintln!` that ignores a closed stderr.
macro_rules! tell {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprint!` that ignores a closed stderr.
macro_rules! tell_raw {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let mut err = ::std::io::stderr().lock();
        let _ = ::std::write!(err, $($arg)*);
        let _ = err.flush();
    }};
}

pub(crate) use {say, say_raw, tell, tell_raw};

/// Whether stderr gets colours: a terminal, and `NO_COLOR` unset or empty (no-color.org).
fn stderr_colours() -> bool {
    use std::io::IsTerminal as _;
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    })
}

/// `error:`, bold red on a terminal (as cargo and rustc print it).
pub(crate) fn error_label() -> &'static str {
    if stderr_colours() {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    }
}

/// `warning:`, bold yellow on a terminal.
pub(crate) fn warning_label() -> &'static str {
    if stderr_colours() {
        "\x1b[1;33mwarning:\x1b[0m"
    } else {
        "warning:"
    }
}
