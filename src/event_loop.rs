//! The one place that owns the terminal: it reads input on a thread, drains every pending
//! event into [`App::update`], hands the commands to the [`Runner`], and draws once per batch
//! (one draw per burst of log lines, not one per line). Idle, it draws only on a slow tick.
//! The terminal is restored on every way out: quit, Ctrl-C, SIGTERM, an error, or a panic in
//! any thread (the panic hook restores it and ends the process, so no task can leave the
//! screen half-drawn).

use std::io::stdout;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{self as term, DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use tokio::sync::mpsc;

use crate::app::App;
use crate::event::Event;
use crate::runner::Runner;

/// How often time is passed to the app.
const TICK: Duration = Duration::from_millis(250);
/// Most events applied before a draw.
const MAX_BATCH: usize = 2_048;

/// Restores the terminal when dropped, however the loop ends.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Mouse capture off, the cursor shown, raw mode off, the main screen back. `ratatui::restore`
/// alone leaves the cursor hidden when the `Terminal` is not dropped (a panic that exits).
fn restore() {
    let _ = execute!(stdout(), DisableMouseCapture, crossterm::cursor::Show);
    ratatui::restore();
}

/// Installs a panic hook that restores the terminal and ends the process: a panic in a tokio
/// task must not leave the UI thread drawing over a broken screen.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
        std::process::exit(101);
    }));
}

/// Runs the console until the user quits or the process is told to stop.
/// How the console ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// `q` or Ctrl-C: exit 0.
    Quit,
    /// SIGTERM or SIGHUP: exit 128 + the signal, with one line to print once the terminal is
    /// restored (a repair's rollout that goes on without the console).
    Signal {
        signal: Signal,
        note: Option<String>,
    },
}

/// The signals that end the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Term,
    Hangup,
}

impl Signal {
    /// The shell's exit status for a process ended by this signal: 143, 129.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Term => 128 + 15,
            Self::Hangup => 128 + 1,
        }
    }
}

/// The line to print when the console is stopped while a repair changes the service: the
/// rollout goes on in ECS, and how to follow it.
pub fn rollout_goes_on(app: &App) -> Option<String> {
    let flow = app.repair.as_ref()?;
    // Planning changes nothing; applying and following do.
    if !matches!(
        flow.stage,
        crate::app::Stage::Applying | crate::app::Stage::Following
    ) {
        return None;
    }
    Some(format!(
        "otp-console: stopped during a repair; the rollout goes on in ECS. Follow it with: aws ecs wait services-stable --cluster {} --services {}",
        app.names.cluster, app.names.service
    ))
}

pub async fn run(
    mut app: App,
    mut runner: Runner,
    events_tx: mpsc::UnboundedSender<Event>,
    mut events: mpsc::UnboundedReceiver<Event>,
) -> std::io::Result<Ended> {
    install_panic_hook();
    let mut terminal = ratatui::try_init()?;
    let _guard = TerminalGuard;
    execute!(stdout(), EnableMouseCapture)?;
    let size = terminal.size()?;
    app.update(Event::Resize(size.width, size.height));

    // Terminal input on its own thread: crossterm's read blocks.
    let stop_input = Arc::new(AtomicBool::new(false));
    let input = {
        let (tx, stop) = (events_tx.clone(), Arc::clone(&stop_input));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match term::poll(Duration::from_millis(100)) {
                    Ok(true) => {
                        let event = match term::read() {
                            Ok(term::Event::Key(k)) => Event::Key(k),
                            Ok(term::Event::Mouse(m)) => Event::Mouse(m),
                            Ok(term::Event::Resize(w, h)) => Event::Resize(w, h),
                            Ok(_) => continue,
                            Err(_) => break,
                        };
                        if tx.send(event).is_err() {
                            break;
                        }
                    }
                    Ok(false) => {}
                    Err(_) => break,
                }
            }
        })
    };
    let mut terminate = terminate_signal();
    let mut tick = tokio::time::interval(TICK);
    // Skip missed ticks rather than firing them back-to-back after a stall.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut ticks: u64 = 0;
    terminal.draw(|f| crate::ui::render(&app, f))?;
    // Debug builds only: a panic in a task on demand, so a test can show the hook restores
    // the terminal (tests/tmux_console.rs). Release builds do not have this.
    #[cfg(debug_assertions)]
    if std::env::var_os("OTP_CONSOLE_TEST_PANIC").is_some() {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            panic!("a test panic (OTP_CONSOLE_TEST_PANIC)");
        });
    }
    let mut ended = Ended::Quit;
    loop {
        let mut batch = Vec::new();
        tokio::select! {
            event = events.recv() => match event {
                Some(e) => batch.push(e),
                None => break,
            },
            _ = tick.tick() => {
                ticks += 1;
                batch.push(Event::Tick(chrono::Utc::now().timestamp_millis()));
            }
            signal = &mut terminate => {
                ended = Ended::Signal { signal, note: rollout_goes_on(&app) };
                break;
            }
        }
        // Draw after draining: everything already queued is applied before one draw.
        while batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let only_ticks = batch.iter().all(|e| matches!(e, Event::Tick(_)));
        for event in batch {
            for command in app.update(event) {
                runner.handle(command).await;
            }
        }
        if app.should_quit {
            break;
        }
        let animated = !app.evidence.outstanding.is_empty()
            || app.evidence.ecs.is_none()
            || !app.evidence.has_logs
            || app
                .repair
                .as_ref()
                .is_some_and(crate::app::RepairFlow::is_busy);
        // Idle, a slow tick (every 2 s) keeps ages current; spinners need every tick.
        if !only_ticks || animated || ticks % 8 == 0 {
            terminal.draw(|f| crate::ui::render(&app, f))?;
        }
    }
    // The input thread sees the flag within 100 ms; it is not joined, since a terminal that
    // went away can leave it blocked in a read. Shutting the probes and the simulator down is
    // bounded too: nothing may keep a console alive after quit, SIGTERM or SIGHUP.
    stop_input.store(true, Ordering::Relaxed);
    drop(input);
    let _ = tokio::time::timeout(Duration::from_secs(2), runner.shutdown()).await;
    Ok(ended)
}

/// Resolves on SIGTERM (and SIGHUP, when the terminal goes away), with which one it was. The
/// handlers are installed when this is called, not when it is first awaited: a signal that
/// arrives in between is caught, not fatal.
pub fn terminate_signal() -> std::pin::Pin<Box<dyn std::future::Future<Output = Signal> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let handlers = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        );
        Box::pin(async move {
            match handlers {
                (Ok(mut term), Ok(mut hup)) => {
                    tokio::select! {
                        _ = term.recv() => Signal::Term,
                        _ = hup.recv() => Signal::Hangup,
                    }
                }
                _ => std::future::pending().await,
            }
        })
    }
    #[cfg(not(unix))]
    {
        Box::pin(std::future::pending())
    }
}
