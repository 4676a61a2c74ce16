//! The data-connection set-up commands of a control connection: `PASV` and `EPSV` (a passive
//! port: one per connection, at most `max_passive_ports_per_user` across a user's
//! connections, given back after 30 s unused) and `PORT`/`EPRT` (active mode, to the client's
//! own address only: no FTP bounce).

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ferry_core::connection_limit::Permit;
use ferry_core::domain::UserId;

use crate::data::{DataPlan, PassiveData, active_target_allowed, bind_passive};
use crate::reply::Reply;
use crate::session::{ControlSession, Outcome};

impl ControlSession {
    /// Sets (or clears) the next transfer's data connection.
    pub(crate) fn set_plan(&mut self, plan: Option<DataPlan>) {
        self.plan_since = plan.as_ref().map(|_| Instant::now());
        self.plan = plan;
    }

    /// The TLS configuration of data connections under the current protection level.
    fn data_tls(&self) -> Option<std::sync::Arc<rustls::ServerConfig>> {
        if self.protect_data {
            self.tls.clone()
        } else {
            None
        }
    }

    /// `PASV`.
    pub(crate) async fn pasv(&mut self) -> Outcome {
        if self.epsv_all {
            return Err(Reply::new(503, "EPSV ALL was sent: use EPSV"));
        }
        let IpAddr::V4(local) = self.local.ip().to_canonical() else {
            return Err(Reply::new(522, "PASV works over IPv4 only; use EPSV (2)"));
        };
        let (listener, place) = self.bind_passive().await?;
        let port = listener.local_addr().map_err(|_| no_port())?.port();
        let host = self.shared.settings.passive_host.unwrap_or(local).octets();
        let tls = self.data_tls();
        let proxies = self.shared.settings.proxies.clone();
        self.set_plan(Some(DataPlan::Passive(PassiveData::start(
            listener, place, self.peer, tls, proxies,
        ))));
        Ok(Reply::new(
            227,
            format!(
                "Entering Passive Mode ({},{},{},{},{},{})",
                host[0],
                host[1],
                host[2],
                host[3],
                port >> 8,
                port & 0xff
            ),
        ))
    }

    /// `EPSV`.
    pub(crate) async fn epsv(&mut self, arg: &str) -> Outcome {
        let family = if self.local.ip().to_canonical().is_ipv4() {
            "1"
        } else {
            "2"
        };
        match arg.trim().to_ascii_uppercase().as_str() {
            "ALL" => {
                self.epsv_all = true;
                return Ok(Reply::new(200, "EPSV ALL accepted"));
            }
            "" => {}
            f if f == family => {}
            _ => {
                return Err(Reply::new(
                    522,
                    format!("Network protocol not supported, use ({family})"),
                ));
            }
        }
        let (listener, place) = self.bind_passive().await?;
        let port = listener.local_addr().map_err(|_| no_port())?.port();
        let tls = self.data_tls();
        let proxies = self.shared.settings.proxies.clone();
        self.set_plan(Some(DataPlan::Passive(PassiveData::start(
            listener, place, self.peer, tls, proxies,
        ))));
        Ok(Reply::new(
            229,
            format!("Entering Extended Passive Mode (|||{port}|)"),
        ))
    }

    /// A passive listener and its place in the user's count of passive ports: one per
    /// control connection (the previous one is closed first), and at most
    /// `max_passive_ports_per_user` across the user's connections, so that one user cannot
    /// hold every port of the range.
    async fn bind_passive(&mut self) -> Result<(tokio::net::TcpListener, Permit<UserId>), Reply> {
        self.set_plan(None);
        let user = self
            .signed_in
            .as_ref()
            .map(|s| s.user)
            .ok_or_else(no_port)?;
        let place = self.shared.passive_per_user.admit(user).ok_or_else(|| {
            tracing::warn!(user, "FTPS: the user holds every passive port allowed");
            Reply::new(
                425,
                "You hold too many passive ports; finish a transfer first",
            )
        })?;
        let listener = bind_passive(self.local.ip(), &self.shared.settings.passive_ports)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "FTPS: no passive port free");
                no_port()
            })?;
        Ok((listener, place))
    }

    /// `PORT` and `EPRT`.
    pub(crate) fn port(&mut self, target: Option<SocketAddr>) -> Outcome {
        if self.epsv_all {
            return Err(Reply::new(503, "EPSV ALL was sent: use EPSV"));
        }
        let target = target.ok_or_else(|| Reply::new(501, "Cannot parse the address"))?;
        if !active_target_allowed(target, self.peer) {
            tracing::warn!(peer = %self.peer, %target, "FTPS: active-mode target refused (FTP bounce)");
            return Err(Reply::new(
                504,
                "Active mode connects only to your own address, at a port above 1023",
            ));
        }
        self.set_plan(Some(DataPlan::Active(target)));
        Ok(Reply::new(200, "Active mode: Ferry will connect to you"))
    }
}

fn no_port() -> Reply {
    Reply::new(425, "No passive port is free; try again")
}
