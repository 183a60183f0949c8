//! INFO: section rendering.
