//! Prices and cost arithmetic for Switchyard.
//!
//! * [`PriceTable`]: the shipped, versioned price table (`data/prices.json`, embedded at build
//!   time), extendable and overridable from the configuration, with lookup by
//!   `provider_kind/model` falling back to the bare model name and to documented normalisations
//!   of dated or region-prefixed model ids (see [`normalize`]).
//! * [`cost_micros`]: the cost of one request from its [`Usage`](switchyard_types::Usage), in
//!   integer micro-dollars.
//!
//! Money is integer throughout. A rate is held in **micro-dollars per million tokens**
//! (numerically the same as pico-dollars per token), so every published price down to
//! $0.000001 per million tokens (e.g. $0.075/M = 75 000, $0.0375/M = 37 500) is exact. A request's
//! cost is summed in `u128` pico-dollars and rounded once, half up, to the micro-dollar.

pub mod cost;
pub mod normalize;
pub mod price;
pub mod table;

pub use cost::{cost_micros, cost_pico, image_cost_micros};
pub use price::{format_usd, usd_per_million_to_rate, LongContext, Price, PriceError};
pub use table::{PriceOverride, PriceTable};
