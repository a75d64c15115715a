use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = bench_server::cli::Cli::parse();
    match bench_server::cli::execute(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench-server: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
