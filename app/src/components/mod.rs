//! Reusable pieces of the interface: the layout, the design system's components, icons.

pub mod comments;
pub mod forms;
pub mod icons;
pub mod layout;
pub mod sla;
pub mod theme;
pub mod toast;
pub mod ui;
pub mod upload;
