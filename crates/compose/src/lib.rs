//! quai compose: compose-spec projects.

pub mod yaml;
