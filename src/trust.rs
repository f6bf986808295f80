//! trust: (being written)
