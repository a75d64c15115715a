use clap::Parser;

fn main() -> std::process::ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let cli = loadgen::cli::Cli::parse();
    match loadgen::cli::execute(cli, argv) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("loadgen: {err:#}");
            loadgen::cli::failure_code(&err)
        }
    }
}
