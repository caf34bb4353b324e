//! Which tickets a workflow takes, and where two deployed workflows meet: a ticket goes to
//! the matching workflow that names the most of category, sub-category and department (ties,
//! which only partly overlapping sets can have, to the older workflow). Deploying a workflow
//! can therefore take tickets another one had: the deploy confirmation lists each such
//! overlap before it happens.

use serde::{Deserialize, Serialize};

/// A workflow's match set: each field is "any" when `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchSet {
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
}

impl MatchSet {
    /// How many fields it names: the more, the more specific.
    pub fn specificity(self) -> usize {
        [self.category_id, self.sub_category_id, self.department_id]
            .iter()
            .filter(|f| f.is_some())
            .count()
    }

    /// The tickets both match, if any can: each field from whichever names it (`None` where
    /// both say "any"), or no overlap when both name different values.
    pub fn overlap(self, other: MatchSet) -> Option<MatchSet> {
        fn both(a: Option<i64>, b: Option<i64>) -> Option<Option<i64>> {
            match (a, b) {
                (Some(x), Some(y)) if x != y => None,
                (Some(x), _) | (_, Some(x)) => Some(Some(x)),
                (None, None) => Some(None),
            }
        }
        Some(MatchSet {
            category_id: both(self.category_id, other.category_id)?,
            sub_category_id: both(self.sub_category_id, other.sub_category_id)?,
            department_id: both(self.department_id, other.department_id)?,
        })
    }

    /// Whether a ticket both match goes to this workflow (`self_id`) rather than the other:
    /// the more specific wins; between equally specific ones, the older (lower id).
    pub fn wins_over(self, self_id: i64, other: MatchSet, other_id: i64) -> bool {
        match self.specificity().cmp(&other.specificity()) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => self_id < other_id,
        }
    }
}

/// Where a workflow about to be deployed meets another deployed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchOverlap {
    pub workflow_id: i64,
    pub workflow: String,
    /// The tickets both match, in words: "Hardware tickets from Finance", "every ticket".
    pub tickets: String,
    /// Those tickets go to the deployed workflow (it names more); else they stay with it.
    pub taken: bool,
    /// Both name exactly the same tickets: deploying is refused until one changes.
    pub same: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(c: Option<i64>, s: Option<i64>, d: Option<i64>) -> MatchSet {
        MatchSet {
            category_id: c,
            sub_category_id: s,
            department_id: d,
        }
    }

    #[test]
    fn a_more_specific_workflow_takes_the_tickets_both_match() {
        let catch_all = set(None, None, None);
        let hardware = set(Some(1), None, None);
        let finance = set(None, None, Some(7));
        assert_eq!(hardware.overlap(catch_all), Some(hardware));
        assert!(hardware.wins_over(5, catch_all, 1));
        assert!(!catch_all.wins_over(1, hardware, 5));
        // Hardware tickets from Finance: both name one field; the older one keeps them.
        assert_eq!(hardware.overlap(finance), Some(set(Some(1), None, Some(7))));
        assert!(finance.wins_over(2, hardware, 3));
        assert!(!hardware.wins_over(3, finance, 2));
        // Different categories never meet.
        assert_eq!(hardware.overlap(set(Some(2), None, None)), None);
    }
}
