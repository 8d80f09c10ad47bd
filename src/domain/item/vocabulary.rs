//! The ledger's words: where an item comes from, how high it is listed, how it ended.

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident as $schema:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal / $zh:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        #[schema(as = $schema)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the order they are listed to people.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The Chinese label.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $zh,)+
                }
            }

            /// The value of a stored name.
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|x| x.as_str() == s)
            }
        }
    };
}

vocabulary!(
    /// Where an item comes from.
    Source as ItemSource {
        /// 巡查发现: an inspection visit's finding.
        InspectionFinding = "inspection_finding" / "巡查发现",
        /// 暗访发现: a secret visit's finding.
        SecretVisit = "secret_visit" / "暗访发现",
        /// 领导批示: a leader's instruction.
        LeaderInstruction = "leader_instruction" / "领导批示",
        /// 会议议定: a meeting's decision.
        MeetingDecision = "meeting_decision" / "会议议定",
        /// 12345 热线: the citizens' hotline.
        Hotline = "hotline" / "12345热线",
        /// 媒体曝光: a media report.
        Media = "media" / "媒体曝光",
        /// 企业诉求: an enterprise's request.
        EnterpriseRequest = "enterprise_request" / "企业诉求",
        /// 评价工单: a rating case (linked).
        RatingCase = "rating_case" / "评价工单",
        /// 办不成事: a "could not get it done" case (linked).
        CannotGetDone = "cannot_get_done" / "办不成事",
    }
);

vocabulary!(
    /// How high an item is listed.
    Level as ItemLevel {
        /// 一般.
        General = "general" / "一般",
        /// 重点.
        Key = "key" / "重点",
        /// 挂牌督办: listed under the city's name.
        Listed = "listed" / "挂牌督办",
    }
);

vocabulary!(
    /// How an item ended.
    Outcome as ItemOutcome {
        /// 已落实: done as required.
        Implemented = "implemented" / "已落实",
        /// 部分落实: partly done (what remains is said).
        PartlyImplemented = "partly_implemented" / "部分落实",
        /// 无法落实: cannot be done, with the reason.
        NotImplementable = "not_implementable" / "无法落实（已说明理由）",
        /// 已合并: merged into another item.
        Merged = "merged" / "已合并办理",
        /// 异议成立: the unit disputed the finding and the dispute was upheld.
        DisputeUpheld = "dispute_upheld" / "异议成立",
    }
);

impl Source {
    /// The working days an item from this source gets unless a deadline is named: what is
    /// exposed publicly moves fastest (media 3, the hotline 5), what a meeting decided gets a
    /// month's work (20), inspection findings the 15 working days of a feedback sheet.
    pub fn default_days(self) -> u32 {
        match self {
            Source::Media => 3,
            Source::Hotline => 5,
            Source::SecretVisit | Source::LeaderInstruction | Source::EnterpriseRequest => 10,
            Source::RatingCase | Source::CannotGetDone => 10,
            Source::InspectionFinding => 15,
            Source::MeetingDecision => 20,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_and_has_a_chinese_label() {
        for s in Source::ALL {
            assert_eq!(Source::parse(s.as_str()), Some(*s));
            assert!(!s.label_zh().is_empty());
        }
        for l in Level::ALL {
            assert_eq!(Level::parse(l.as_str()), Some(*l));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(*o));
        }
        assert_eq!(Source::parse("rumour"), None);
    }
}
