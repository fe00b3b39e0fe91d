//! A counting semaphore with RAII permits (work in progress).
