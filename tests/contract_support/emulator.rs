//! Third-party emulators for the contract tests: moto's server (ECS, CloudWatch Logs) and
//! Stoplight Prism (Twilio's OpenAPI descriptions). `tests/run.sh` installs them under
//! `target/emulators` and exports where they are; each test starts its own on a free loopback
//! port, waits until it answers HTTP, and the [`Emulator`] guard kills it when dropped. A
//! missing emulator fails the test with the command that installs it: a contract test that
//! skipped itself would look green on exactly the machine that never checked the contract.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long an emulator may take to answer its first request (Prism parses a 5 MB spec).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A running emulator process, killed on drop.
pub struct Emulator {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    /// Its stdout and stderr, shown when it fails to start.
    output: tempfile::NamedTempFile,
}

impl Emulator {
    /// Starts `program args…` (which must listen on `port`) and waits until it answers HTTP.
    pub async fn start(what: &str, program: &Path, args: &[&str], port: u16) -> Self {
        let output = tempfile::NamedTempFile::new().expect("temporary file");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(output.reopen().expect("reopen"))
            .stderr(output.reopen().expect("reopen"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({}): {e}", program.display()));
        let mut emulator = Self {
            url: format!("http://127.0.0.1:{port}"),
            child,
            output,
        };
        emulator.wait_until_ready(what).await;
        emulator
    }

    /// Polls until any HTTP answer arrives, failing early if the process exits.
    async fn wait_until_ready(&mut self, what: &str) {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if http.get(&self.url).send().await.is_ok() {
                // The answer must be ours: a process that could not bind has exited.
                if let Some(status) = self.child.try_wait().expect("try_wait") {
                    panic!(
                        "{what} exited ({status}) while something else answered on {}:\n{}",
                        self.url,
                        self.output()
                    );
                }
                return;
            }
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!(
                    "{what} exited ({status}) before answering:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not answer on {} within {READY_TIMEOUT:?}:\n{}",
                self.url,
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the process has printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.output.path()).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Errors mean it already exited; either way it is gone and reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now, and never handed out before in this process:
/// tests start emulators side by side, and the OS may give the same free port to two of them
/// (one then fails to bind while its readiness check sees the other one answer). It is taken
/// below Linux's ephemeral range (32768–60999), where the OS never puts a listener bound to
/// port 0: a simulator another test starts meanwhile cannot take the port before the emulator,
/// still starting, binds it (moto once answered a test with a simulator's ELBv2).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Spread by process so two test binaries running at once start at different ports.
    let start = 20_000 + (std::process::id() % 1_000) as u16 * 12;
    for offset in 0..12_000u16 {
        let port = 20_000 + (start - 20_000 + offset) % 12_000;
        if given.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free loopback port between 20000 and 31999")
}

/// The installed tool `var` points at, else its default place under `target/emulators`
/// (so `cargo test contract` works after one `bash tests/run.sh`), else a failure that says
/// how to install it.
pub fn installed(var: &str, default: &str, what: &str) -> PathBuf {
    let path = std::env::var_os(var).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/emulators")
                .join(default)
        },
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{what} is not installed at {} ({var}): run `bash tests/run.sh`, which installs it \
         under target/emulators and runs every test",
        path.display()
    );
    path
}

/// The Python that has botocore (AWS's service models and its protocol codecs):
/// `OTP_CONSOLE_PYTHON`, else the one beside moto's server (`tests/run.sh` installs both).
#[allow(dead_code)] // only the tests that check against botocore's models
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("OTP_CONSOLE_PYTHON") {
        return PathBuf::from(p);
    }
    installed(
        "OTP_CONSOLE_MOTO_SERVER",
        "moto/bin/moto_server",
        "moto's server (PyPI moto[server], which brings botocore)",
    )
    .with_file_name("python")
}

/// Runs `script` with botocore's Python, `input` as JSON on its stdin; its stdout as JSON.
#[allow(dead_code)] // only the tests that check recorded exchanges against botocore
pub fn botocore_stdin(script: &str, input: &serde_json::Value) -> serde_json::Value {
    use std::io::Write as _;
    let mut child = std::process::Command::new(python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python with botocore runs (tests/run.sh installs it with moto)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("writes");
    let out = child.wait_with_output().expect("python finishes");
    assert!(
        out.status.success(),
        "botocore check failed to run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("botocore check prints JSON")
}

/// moto's server on a free port (`tests/run.sh` installs it).
#[allow(dead_code)] // the Twilio contract tests never start moto
pub async fn moto() -> Emulator {
    let program = installed(
        "OTP_CONSOLE_MOTO_SERVER",
        "moto/bin/moto_server",
        "moto's server (PyPI moto[server])",
    );
    let port = free_port();
    Emulator::start(
        "moto_server",
        &program,
        &["-H", "127.0.0.1", "-p", &port.to_string()],
        port,
    )
    .await
}

/// The AWS SDK configuration for an emulator at `endpoint` with static keys, in us-east-1.
#[allow(dead_code)] // the Twilio contract tests never call AWS
pub async fn sdk_config(endpoint: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
    otp_console::probe::aws::loader()
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            key, secret, None, None, "contract",
        ))
        .load()
        .await
}

/// The simulator on `scenario` (delays at a twentieth, stopped when dropped) and the AWS SDK
/// configuration for its AWS endpoint, signed with its keys: the other side of a contract test
/// against moto.
#[allow(dead_code)] // the Twilio contract tests never call AWS
pub async fn simulator(
    scenario: otp_console::sim::scenario::Scenario,
) -> (otp_console::sim::Simulator, aws_config::SdkConfig) {
    use otp_console::sim;
    let sim = sim::Simulator::start(scenario, 0.05, sim::Ports::default())
        .await
        .expect("simulator starts");
    let sdk = sdk_config(&sim.urls.aws, sim::ACCESS_KEY_ID, sim::SECRET_ACCESS_KEY).await;
    (sim, sdk)
}

/// One check, as two tests: against the simulator and against moto. The including file
/// defines `Backend` with `simulator()` and `moto()` constructors (`#[macro_use] mod emulator`).
#[allow(unused_macros)] // only the AWS contract tests compare two backends
macro_rules! on_both_backends {
    ($check:ident: $sim:ident, $moto:ident) => {
        #[tokio::test]
        async fn $sim() {
            $check(&Backend::simulator().await).await;
        }

        #[tokio::test]
        async fn $moto() {
            $check(&Backend::moto().await).await;
        }
    };
}
