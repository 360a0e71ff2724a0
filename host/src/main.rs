//! `overinit`: the host side of overinit.
//!
//! ```text
//!  overinit pack  ─▶ cli (arguments) ─▶ pack: image (skeleton + /init
//!                    + modules + --add) ─▶ cpio ─▶ compress ─▶ --output
//!  overinit plan  ─▶ plan: overinit::plan::build(cmdline) printed as shell
//! ```
//!
//! Each subcommand owns its argument parsing and error printing; this file
//! only picks the subcommand.

mod cli;
mod compress;
mod cpio;
mod elf;
mod error;
mod image;
mod modprobe;
mod modules;
mod pack;
mod plan;
mod suggest;
#[cfg(test)]
mod test_util;

use std::process::ExitCode;

/// Subcommands, for "did you mean" on a typo.
const COMMANDS: &[&str] = &["pack", "plan"];

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(command) = args.next() else {
        eprint!("{}", cli::HELP);
        return ExitCode::from(2);
    };
    match command.to_string_lossy().as_ref() {
        "pack" => pack::main(args),
        "plan" => plan::main(args),
        "-h" | "--help" | "help" => {
            print!("{}", cli::HELP);
            ExitCode::SUCCESS
        }
        "-V" | "--version" => {
            println!("overinit {}", overinit::layout::VERSION);
            ExitCode::SUCCESS
        }
        other => {
            let close = suggest::closest(other, COMMANDS.iter().copied());
            let hint = match close.is_empty() {
                true => "; see overinit --help".to_string(),
                false => suggest::did_you_mean(&close),
            };
            eprintln!("overinit: error: unknown command '{other}'{hint}");
            ExitCode::from(2)
        }
    }
}
