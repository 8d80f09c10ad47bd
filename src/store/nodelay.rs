//! TCP_NODELAY for PostgreSQL connections. sqlx 0.9 leaves Nagle's algorithm on: a message
//! larger than the socket's send buffer (16 KiB to start with on Linux) leaves its tail segment
//! waiting for the server's acknowledgement, which the server delays by up to 40 ms because it
//! is still waiting for the rest of the message. Large statements (the rating writer's
//! batches, bulk loads) stall on every round trip. The driver offers no way to set the option,
//! so after each connection opens, this finds the process's TCP sockets connected to the
//! database's port and sets it on them, through a duplicate of each descriptor
//! (`pidfd_getfd` on this process; Linux 5.6 or later). Anywhere it cannot, it logs once and
//! the connection works as before, only slower.

use std::sync::atomic::{AtomicBool, Ordering};

static WARNED: AtomicBool = AtomicBool::new(false);

/// Sets TCP_NODELAY on every TCP socket of this process whose peer port is `port`.
/// Returns how many sockets it set.
pub(crate) fn set_for_peer_port(port: u16) -> usize {
    match set(port) {
        Ok(n) => n,
        Err(e) => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "could not set TCP_NODELAY on the database connections; large statements may stall");
            }
            0
        }
    }
}

#[cfg(target_os = "linux")]
fn set(port: u16) -> std::io::Result<usize> {
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
    let me = pidfd_open(getpid(), PidfdFlags::empty())?;
    let mut done = 0;
    for entry in std::fs::read_dir("/proc/self/fd")? {
        let Some(fd) = entry?.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(link) = std::fs::read_link(format!("/proc/self/fd/{fd}")) else { continue };
        if !link.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Ok(dup) = pidfd_getfd(&me, fd, PidfdGetfdFlags::empty()) else { continue };
        let peer = rustix::net::getpeername(&dup).ok().flatten().and_then(|a| std::net::SocketAddr::try_from(a).ok());
        if peer.is_some_and(|p| p.port() == port) && rustix::net::sockopt::set_tcp_nodelay(&dup, true).is_ok() {
            done += 1;
        }
    }
    Ok(done)
}

#[cfg(not(target_os = "linux"))]
fn set(_port: u16) -> std::io::Result<usize> {
    Ok(0)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn sockets_to_the_port_get_nodelay_and_others_do_not() {
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = server.local_addr().map(|a| a.port()).unwrap_or_default();
        let to_db = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
        let elsewhere = std::net::TcpStream::connect(other.local_addr().unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!to_db.nodelay().unwrap_or(true), "Nagle is on by default");
        assert!(super::set_for_peer_port(port) >= 1);
        assert!(to_db.nodelay().unwrap_or(false), "set through the duplicate descriptor");
        assert!(!elsewhere.nodelay().unwrap_or(true), "a connection to another port is left alone");
    }
}
