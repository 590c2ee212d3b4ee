//! Masking and terminal-safe text. Every output path (screen, `check`, report, logs) goes
//! through here, so a secret is masked in one place.
