//! `lsbc-sandbox`: runs the simulators as a standalone process (wired in once both exist).

fn main() {}
