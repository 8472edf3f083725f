//! Workspace-level examples, integration tests and benchmarks of mbedtls-verify (not published).
