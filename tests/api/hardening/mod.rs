//! What the outside security and reliability review found, each with its regression test.

mod alerts;
mod bodies;
mod headers;
mod logins;
mod redirects;
mod scope;
mod secret;
