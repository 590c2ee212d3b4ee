//! App update tests (being written).
