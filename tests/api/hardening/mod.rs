//! What the outside security and reliability review found, each with its regression test.

mod alerts;
mod audit;
mod bodies;
mod contract;
mod headers;
mod logins;
mod redirects;
mod retries;
mod scope;
mod secret;
