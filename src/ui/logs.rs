//! The logs pane (being written).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::App;

/// Draws the logs pane into `area`.
pub fn render(_app: &App, _area: Rect, _buf: &mut Buffer) {}
