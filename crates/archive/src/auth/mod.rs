//! Authentication: password hashes, API tokens, browser sessions and their
//! CSRF tokens, and the throttle on failed logins. Who may do what is
//! decided in `api::access` (from the route table) and by the pages'
//! extractors (`web`).

mod password;
pub mod session;
mod throttle;
mod token;

pub use password::{MIN_PASSWORD_CHARS, check_password_rules, hash_password, verify_password};
pub use throttle::{KeyKind, Throttles};
pub use token::{TOKEN_LIFETIME, hash_token, new_token};
