//! naming: (being written)
