//! Typed configuration from the `ENTENTE_*` environment variables.
//!
//! Every value is parsed once, at start. A bad value stops the start with one line that names
//! the variable, so that an operator sees at once what to fix.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tracing_subscriber::EnvFilter;
use url::Url;

/// Where the data lives. The URL scheme picks the backend; anything else is refused.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, kept as given (libpq parses it).
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(rest) = raw.strip_prefix("sqlite://") {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("an sqlite:// URL needs a file path, e.g. sqlite://entente.db or sqlite:///var/lib/entente/entente.db".into());
            }
            if path == ":memory:" {
                return Err(
                    "an in-memory SQLite database would lose every write; give a file path".into(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Url::parse(raw).map_err(|e| format!("not a valid PostgreSQL URL ({e})"))?;
            return Ok(Self::Postgres(raw.to_owned()));
        }
        let scheme = raw.split_once("://").map(|(s, _)| s).unwrap_or(raw);
        Err(format!(
            "unsupported database '{scheme}': use sqlite://PATH or postgres://USER@HOST/DB"
        ))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Never print a PostgreSQL password: the URL is shown without it.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(raw) => match Url::parse(raw) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    write!(f, "{url}")
                }
                Err(_) => f.write_str("postgres://(unparsable)"),
            },
        }
    }
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The smallest accepted HMAC key, in bytes (HS256 wants at least its output size).
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// The shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub database_pool_size: u32,
    /// How many password hashes (argon2) may run at once.
    pub password_concurrency: usize,
    /// Bytes of rendered feeds each instance keeps (0: none).
    pub feed_cache_bytes: usize,
    pub bind: SocketAddr,
    pub jwt_secret: Option<Secret>,
    pub jwt_previous_secrets: Vec<Secret>,
    pub token_ttl: Duration,
    pub admin_password: Option<Secret>,
    pub public_url: Option<Url>,
    pub log: String,
    pub log_format: LogFormat,
    pub login_throttle: LoginThrottle,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the client (none by default:
    /// the TCP peer is the client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// How many failed logins are tolerated within a sliding window before further attempts get 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginThrottle {
    pub window: Duration,
    pub max_failures_per_username: u32,
    pub max_failures_per_address: u32,
}

/// A configuration value that stops the start. `Display` is the one line shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().filter(|(k, _)| k.starts_with("ENTENTE_")))
    }

    /// Reads the given variables only (tests and embedding use this; nothing global is read).
    pub fn from_vars<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let get = |name: &str| vars.get(name).map(String::as_str).filter(|v| !v.is_empty());
        let fail = |variable: &'static str, message: String| ConfigError { variable, message };

        let database_url =
            DatabaseUrl::parse(get("ENTENTE_DATABASE_URL").unwrap_or("sqlite://entente.db"))
                .map_err(|m| fail("ENTENTE_DATABASE_URL", m))?;

        let password_concurrency = match get("ENTENTE_PASSWORD_CONCURRENCY") {
            None => std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2)),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    fail(
                        "ENTENTE_PASSWORD_CONCURRENCY",
                        format!("'{v}' is not a whole number from 1 to 64"),
                    )
                })?,
        };
        let feed_cache_bytes = match get("ENTENTE_FEED_CACHE_MB") {
            None => 64 * 1024 * 1024,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 65_536)
                .map(|mb| mb * 1024 * 1024)
                .ok_or_else(|| {
                    fail(
                        "ENTENTE_FEED_CACHE_MB",
                        format!("'{v}' is not a whole number of megabytes from 0 to 65536"),
                    )
                })?,
        };
        let database_pool_size = match get("ENTENTE_DATABASE_POOL_SIZE") {
            None => 10,
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=256).contains(n))
                .ok_or_else(|| {
                    fail(
                        "ENTENTE_DATABASE_POOL_SIZE",
                        format!("'{v}' is not a whole number from 1 to 256"),
                    )
                })?,
        };

        let bind_raw = get("ENTENTE_BIND").unwrap_or("127.0.0.1:8080");
        let bind = bind_raw.parse::<SocketAddr>().map_err(|_| {
            fail(
                "ENTENTE_BIND",
                format!("'{bind_raw}' is not a socket address (expected IP:PORT, e.g. 127.0.0.1:8080 or [::]:8080)"),
            )
        })?;

        let jwt_secret = get("ENTENTE_JWT_SECRET")
            .map(|v| parse_secret(v).map_err(|m| fail("ENTENTE_JWT_SECRET", m)))
            .transpose()?;
        let jwt_previous_secrets = match get("ENTENTE_JWT_PREVIOUS_SECRETS") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .enumerate()
                .map(|(i, s)| {
                    parse_secret(s).map_err(|m| {
                        fail(
                            "ENTENTE_JWT_PREVIOUS_SECRETS",
                            format!("entry {}: {m}", i + 1),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };

        let token_ttl = match get("ENTENTE_TOKEN_TTL") {
            None => Duration::from_secs(3600),
            Some(v) => parse_duration(v)
                .filter(|d| (60..=7 * 86_400).contains(&d.as_secs()))
                .ok_or_else(|| {
                    fail(
                        "ENTENTE_TOKEN_TTL",
                        format!("'{v}' is not a duration from 60s to 7d (e.g. 3600, 90m, 1h, 1d)"),
                    )
                })?,
        };

        let admin_password = match get("ENTENTE_ADMIN_PASSWORD") {
            None => None,
            Some(v) if v.chars().count() < MIN_PASSWORD_CHARS => {
                return Err(fail(
                    "ENTENTE_ADMIN_PASSWORD",
                    format!("must be at least {MIN_PASSWORD_CHARS} characters"),
                ))
            }
            Some(v) => Some(Secret::new(v.as_bytes().to_vec())),
        };

        let trusted_proxies = get("ENTENTE_TRUSTED_PROXIES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|part| !part.is_empty())
                    .map(|part| {
                        part.parse::<ipnet::IpNet>()
                            .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                            .map_err(|_| {
                                fail(
                                    "ENTENTE_TRUSTED_PROXIES",
                                    format!("'{part}' is not an address or CIDR block (e.g. 10.0.0.0/8, ::1)"),
                                )
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();

        let public_url = get("ENTENTE_PUBLIC_URL")
            .map(|v| {
                let url = Url::parse(v).map_err(|e| {
                    fail(
                        "ENTENTE_PUBLIC_URL",
                        format!("'{v}' is not an absolute URL ({e})"),
                    )
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(fail(
                        "ENTENTE_PUBLIC_URL",
                        format!("'{v}' must be an http:// or https:// URL with a host"),
                    ));
                }
                if url.query().is_some() || url.fragment().is_some() {
                    return Err(fail(
                        "ENTENTE_PUBLIC_URL",
                        format!("'{v}' must not have a query or fragment"),
                    ));
                }
                Ok(url)
            })
            .transpose()?;

        let log = get("ENTENTE_LOG").unwrap_or("info").to_owned();
        EnvFilter::try_new(&log).map_err(|e| {
            fail(
                "ENTENTE_LOG",
                format!("'{log}' is not a tracing filter ({e})"),
            )
        })?;

        let log_format = match get("ENTENTE_LOG_FORMAT").unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(fail(
                    "ENTENTE_LOG_FORMAT",
                    format!("'{other}' is not one of: text, json"),
                ))
            }
        };

        let count = |variable: &'static str, default: u32| -> Result<u32, ConfigError> {
            match get(variable) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| {
                        fail(
                            variable,
                            format!("'{v}' is not a whole number from 1 to 100000"),
                        )
                    }),
            }
        };
        let login_throttle = LoginThrottle {
            window: match get("ENTENTE_LOGIN_FAILURE_WINDOW") {
                None => Duration::from_secs(15 * 60),
                Some(v) => parse_duration(v)
                    .filter(|d| (1..=86_400).contains(&d.as_secs()))
                    .ok_or_else(|| {
                        fail(
                            "ENTENTE_LOGIN_FAILURE_WINDOW",
                            format!("'{v}' is not a duration from 1s to 1d (e.g. 900, 15m)"),
                        )
                    })?,
            },
            max_failures_per_username: count("ENTENTE_LOGIN_MAX_FAILURES", 10)?,
            max_failures_per_address: count("ENTENTE_LOGIN_MAX_FAILURES_PER_ADDRESS", 50)?,
        };

        Ok(Self {
            login_throttle,
            trusted_proxies,
            database_url,
            database_pool_size,
            password_concurrency,
            feed_cache_bytes,
            bind,
            jwt_secret,
            jwt_previous_secrets,
            token_ttl,
            admin_password,
            public_url,
            log,
            log_format,
        })
    }
}

fn parse_secret(raw: &str) -> Result<Secret, String> {
    if raw.len() < MIN_JWT_SECRET_BYTES {
        return Err(format!(
            "must be at least {MIN_JWT_SECRET_BYTES} bytes (got {}); generate one with `openssl rand -base64 48`",
            raw.len()
        ));
    }
    Ok(Secret::new(raw.as_bytes().to_vec()))
}

/// `3600`, `3600s`, `90m`, `1h`, `1d`.
fn parse_duration(raw: &str) -> Option<Duration> {
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(factor).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn defaults_need_no_variable() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database_url, DatabaseUrl::Sqlite("entente.db".into()));
        assert_eq!(c.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.token_ttl, Duration::from_secs(3600));
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(
            c.login_throttle,
            LoginThrottle {
                window: Duration::from_secs(900),
                max_failures_per_username: 10,
                max_failures_per_address: 50
            }
        );
        assert!(c.jwt_secret.is_none() && c.public_url.is_none() && c.admin_password.is_none());
    }

    #[test]
    fn the_scheme_picks_the_backend() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/entente/e.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/entente/e.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap().backend(),
            "postgres"
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap().backend(),
            "postgres"
        );
        for bad in [
            "mysql://u@h/db",
            "entente.db",
            "sqlite://",
            "sqlite://:memory:",
            "http://x",
        ] {
            assert!(DatabaseUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let cases: &[(&str, &str)] = &[
            ("ENTENTE_DATABASE_URL", "mysql://root@localhost/x"),
            ("ENTENTE_DATABASE_POOL_SIZE", "0"),
            ("ENTENTE_FEED_CACHE_MB", "-1"),
            ("ENTENTE_FEED_CACHE_MB", "a lot"),
            ("ENTENTE_BIND", "localhost"),
            ("ENTENTE_JWT_SECRET", "too-short"),
            (
                "ENTENTE_JWT_PREVIOUS_SECRETS",
                "0123456789abcdef0123456789abcdef,short",
            ),
            ("ENTENTE_TOKEN_TTL", "5"),
            ("ENTENTE_TOKEN_TTL", "1w"),
            ("ENTENTE_ADMIN_PASSWORD", "short"),
            ("ENTENTE_PUBLIC_URL", "entente.example.org"),
            ("ENTENTE_PUBLIC_URL", "ftp://entente.example.org"),
            ("ENTENTE_LOG", "info,[[["),
            ("ENTENTE_LOG_FORMAT", "xml"),
            ("ENTENTE_LOGIN_FAILURE_WINDOW", "0"),
            ("ENTENTE_LOGIN_MAX_FAILURES", "none"),
            ("ENTENTE_LOGIN_MAX_FAILURES_PER_ADDRESS", "0"),
            ("ENTENTE_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("ENTENTE_TRUSTED_PROXIES", "proxy.internal"),
        ];
        for (var, value) in cases {
            let err = with(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, *var, "{var}={value}");
            assert!(err.to_string().starts_with(&format!("{var}: ")));
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn secrets_never_print() {
        let c = with(&[
            (
                "ENTENTE_JWT_SECRET",
                "0123456789abcdef0123456789abcdef-secret",
            ),
            ("ENTENTE_ADMIN_PASSWORD", "correct horse battery"),
            (
                "ENTENTE_DATABASE_URL",
                "postgres://entente:hunter2hunter2@db.internal/entente",
            ),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains("correct horse"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("3600"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("-1h"), None);
    }

    #[test]
    fn previous_secrets_are_a_list() {
        let c = with(&[(
            "ENTENTE_JWT_PREVIOUS_SECRETS",
            "0123456789abcdef0123456789abcdef, fedcba9876543210fedcba9876543210",
        )])
        .unwrap();
        assert_eq!(c.jwt_previous_secrets.len(), 2);
    }
}
