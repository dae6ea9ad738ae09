//! Lightspeed as the flows use it: the connection (secret, rotating tokens written back
//! under a lease, the OAuth connection steps) and the stream helpers every Lightspeed
//! source shares (records changed since the cursor by `timeStamp`, pages by `next` link).

mod connection;
mod stream;

pub use connection::{
    CONNECTION_WINDOW, ClaimLease, ConnectionError, LightspeedSecret, PendingConnection,
    SecretTokenStore, StoredTokens, begin_connection, complete_connection, connect, external,
};
pub use stream::{changed_since, keyed, read_page, rejected_error, signpost};
