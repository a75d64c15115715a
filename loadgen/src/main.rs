use clap::Parser;

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = loadgen::cli::Cli::parse();
    match loadgen::cli::execute(cli, argv) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("loadgen: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
