//! metadata: (being written)
