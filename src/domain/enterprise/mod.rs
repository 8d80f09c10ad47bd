//! Firms, key projects and the enterprise service desk: the credit code that identifies a firm
//! ([`uscc`]), a project's vocabulary and its computed colour ([`project`]), and the desk
//! request machine ([`desk`]).

pub mod desk;
pub mod project;
pub mod rates;
pub mod uscc;

pub use uscc::Uscc;
