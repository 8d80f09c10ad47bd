//! Four months of the demo city's inspection work, so that a newcomer sees the supervision
//! ledger in every state: the ten teams' open and secret visits with photos, the feedback
//! sheets they issued and the units signed for, and the items those opened, worked through the
//! machine itself (signed for, reported with evidence, returned, closed by a verifier, re-checked,
//! reopened, escalated), in the orders of magnitude of the source (500+ problems fixed, 40+
//! cadres held to account). Everything goes through the store's own functions, then each
//! visit's records are moved back to the day it happened. Added with the rating history
//! (`serve --demo`, `demo --ratings`); does nothing when the ledger has items already.

use std::path::Path;

use crate::calendar_data::CalendarHandle;
use crate::demo::Rng;
use crate::domain::inspection::Mode;
use crate::domain::item::ladder::Colour;
use crate::domain::item::{Action, Facts, Level, Outcome, transition};
use crate::domain::role::Role;
use crate::store::audit::Actor;
use crate::store::inspection::{self, Check, Finding, NewVisit, VISIT_FILES};
use crate::store::items::apply::{self, Details};
use crate::store::items::{self, ladder};
use crate::store::{Store, StoreError, now_ms, workflow};

const DAY: i64 = 86_400_000;
/// Visits per team over the period.
const VISITS_PER_TEAM: usize = 60;
/// How far back the work goes, days.
const PERIOD_DAYS: i64 = 120;

/// What the ledger demo made.
#[derive(Debug, Default, Clone, Copy)]
pub struct LedgerDemo {
    /// Visits recorded.
    pub visits: usize,
    /// Items opened.
    pub items: usize,
    /// Items closed (problems fixed).
    pub closed: usize,
    /// Talks and referrals (cadres held to account).
    pub held: usize,
}

/// Problems the teams find, by category: the problem, what is required.
const PROBLEMS: &[(&str, &str, &str)] = &[
    ("脱岗", "窗口工作人员上班时间离岗，群众等候无人接待", "落实AB岗和离岗登记制度，负责人每日抽查在岗情况"),
    ("未一次性告知", "群众三次补交材料，窗口未一次性告知所需材料", "编制并公示办事材料清单，落实一次性告知制度"),
    ("服务态度", "工作人员对群众咨询态度生硬、推诿", "开展服务规范培训，将服务态度纳入窗口考核"),
    ("超时办理", "承诺时限内未办结，无人说明原因", "梳理超时件逐件办结，建立超时预警"),
    ("公示不全", "办事指南和收费标准未公示或已过期", "更新公示内容并在大厅和网上同步公示"),
    ("推诿扯皮", "跨部门事项相互推诿，群众多次往返", "明确牵头部门，建立首问负责和联办机制"),
    ("乱收费", "收取未公示的资料费", "立即停止收费并清退，公示收费依据"),
    ("吃拿卡要", "群众反映办事需托关系", "移交线索核查，建立办件全程留痕"),
];

/// The people the teams name on the spot.
const LEADERS: &[&str] = &["王建国", "李志强", "张海燕", "刘伟", "陈晓东", "杨丽", "赵明", "周红梅"];
const PERSONS: &[&str] = &["马超", "孙悦", "胡军", "朱婷", "郭涛", "何静", "高磊", "林芳", "罗斌", "梁颖"];

/// Generates the ledger demo (nothing if there are items already).
pub async fn generate(store: &Store, calendar: &CalendarHandle, files: &Path) -> Result<LedgerDemo, StoreError> {
    let mut out = LedgerDemo::default();
    if items::count(store).await? > 0 {
        return Ok(out);
    }
    let mut rng = Rng(2026);
    let teams = crate::store::teams::list(store).await?;
    // Each visit is made on a day; oldest first, so that a problem found again after its item
    // closed is linked as a recurrence, as it would have been at the time.
    let mut plan = Vec::new();
    for (t, team) in teams.iter().enumerate() {
        let mut units = Vec::new();
        for s in &team.stations {
            let code = crate::domain::ids::OrgCode::parse(&s.org_code).map_err(|e| StoreError::Misuse(leak(e.0)))?;
            let unit = Some(crate::domain::org::OrgKind::Unit);
            units.extend(crate::store::org::search_subtree(store, &code, unit, None, 40, 0).await?.0);
        }
        if units.is_empty() {
            continue;
        }
        for v in 0..VISITS_PER_TEAM {
            let days_ago = 1 + (PERIOD_DAYS - 1) * (VISITS_PER_TEAM - v) as i64 / VISITS_PER_TEAM as i64;
            let unit = units[rng.below(units.len())].clone();
            plan.push((days_ago, t, unit));
        }
    }
    plans(store, &teams).await?;
    plan.sort_by_key(|(days_ago, t, u)| (std::cmp::Reverse(*days_ago), *t, u.code.to_string()));
    let rule = items::settings(store.pool()).await?.rule();
    for (days_ago, t, unit) in plan {
        let team = &teams[t];
        let inspector = team.members.iter().find_map(|m| m.username.clone()).unwrap_or_else(|| "inspector01".into());
        let actor = Actor { name: inspector.clone(), client_addr: String::new() };
        let mode = if rng.below(3) == 0 { Mode::Secret } else { Mode::Open };
        let findings = match rng.below(10) {
            0 => 0,
            1..=6 => 1,
            _ => 2,
        };
        let checklist = crate::domain::inspection::DEFAULT_CHECKLIST
            .iter()
            .enumerate()
            .map(|(i, (key, _))| Check { key: (*key).into(), ok: i >= findings, note: String::new() })
            .collect();
        let new = NewVisit {
            plan_id: None,
            team_code: team.code.clone(),
            unit_code: unit.code.to_string(),
            mode,
            visited_at: now_ms(),
            place: format!("{}办事大厅", unit.name),
            members: team.members.iter().take(3).map(|m| m.name.as_str()).collect::<Vec<_>>().join("、"),
            checklist,
            note: if findings == 0 {
                "未发现明显问题".into()
            } else {
                "发现问题，现场拍照取证".into()
            },
        };
        let visit = inspection::record(store, &new, &actor).await?;
        let photo = crate::qr::png(&format!("visit:{}", visit.id), 2).map_err(|e| StoreError::Misuse(leak(e)))?;
        workflow::save_attachment(store, files, &VISIT_FILES, &visit.id, "现场.png", "image/png", &photo, &actor)
            .await?;
        out.visits += 1;
        // A recent secret visit stays sealed while its findings are written up.
        if findings == 0 || (mode == Mode::Secret && days_ago <= 2) {
            shift(store, &visit.id, days_ago).await?;
            continue;
        }
        let found: Vec<Finding> = (0..findings)
            .map(|_| {
                let (category, problem, requirement) = PROBLEMS[rng.below(PROBLEMS.len())];
                Finding {
                    problem: format!("{}：{problem}", unit.name),
                    requirement: requirement.into(),
                    category: category.into(),
                    level: match rng.below(10) {
                        0 => Level::Listed,
                        1..=2 => Level::Key,
                        _ => Level::General,
                    },
                    days: if mode == Mode::Secret { 10 } else { 15 },
                }
            })
            .collect();
        let naming = inspection::Naming {
            leader: LEADERS[rng.below(LEADERS.len())].into(),
            person: PERSONS[rng.below(PERSONS.len())].into(),
            reply_days: 5,
        };
        let sheet = inspection::issue_sheet(store, calendar, &visit, &found, &naming, &actor, Role::Inspector).await?;
        let head = if unit.code.as_str() == "XN-CD-GA-001" {
            "unithead".to_owned()
        } else {
            format!("{}联络员", unit.name)
        };
        let head = Actor { name: head, client_addr: String::new() };
        if days_ago > 1 {
            inspection::sign_sheet(store, &sheet.id, &head).await?;
        }
        let ids: Vec<String> = sheet.body["problems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["item"].as_str().map(str::to_owned))
            .collect();
        for id in ids {
            out.items += 1;
            let fate = rng.unit();
            let work = Work { store, calendar, id: &id, head: &head, verifier: &actor, files };
            // How far the item got depends on how long ago it was found.
            let reached = if days_ago > 35 {
                if fate < 0.97 { 4 } else { 2 }
            } else if days_ago > 18 {
                if fate < 0.75 {
                    4
                } else if fate < 0.92 {
                    3
                } else {
                    2
                }
            } else if days_ago > 5 {
                if fate < 0.3 {
                    4
                } else if fate < 0.5 {
                    3
                } else if fate < 0.85 {
                    2
                } else {
                    1
                }
            } else if fate < 0.5 {
                1
            } else {
                2
            };
            if reached >= 2 {
                work.act(Action::Acknowledge, Role::UnitHead, "已签收，明确专人负责", false).await?;
                // Progress roughly on plan (a 15-working-day item spans about 21 days), some behind.
                let planned = (days_ago * 100 / 21).min(95);
                let noise = i64::try_from(rng.below(30)).unwrap_or(0) - 20;
                let percent = u8::try_from((planned + noise).clamp(10, 95)).unwrap_or(50);
                work.act(Action::ReportProgress { percent }, Role::UnitHead, "已制定整改方案，正在落实", false).await?;
                if reached == 2 && rng.below(3) == 0 {
                    work.act(Action::RequestExtension { days: 5 }, Role::UnitHead, "需协调上级部门，申请延期", false)
                        .await?;
                    if rng.below(3) == 0 {
                        work.act(Action::DecideExtension { approve: true }, Role::Inspector, "", false).await?;
                    }
                }
            }
            // Some fall behind on the way: a red slip and a talk (held to account).
            // Some fall behind on the way: a yellow slip (every second one of a unit brings a
            // supervision letter) or a red one (a talk).
            if reached >= 3 && rng.below(6) == 0 {
                let colour = if rng.below(3) == 0 { Colour::Red } else { Colour::Yellow };
                if let Some(open) = open_item(store, &id).await? {
                    ladder::enter(store, &open, colour, &rule, now_ms()).await?;
                }
            }
            if reached >= 3 {
                if rng.below(10) == 0 {
                    work.act(Action::SubmitFinal { evidence: 1 }, Role::UnitHead, "已整改", true).await?;
                    work.act(Action::Return { days: 5 }, Role::Inspector, "佐证材料不足，缺少整改后照片", false)
                        .await?;
                }
                // Now and then the same photo is sent to close two problems: flagged at closing.
                if rng.below(80) == 0 {
                    work.reused_photo().await?;
                } else {
                    work.act(Action::SubmitFinal { evidence: 1 }, Role::UnitHead, "已按要求整改，附整改前后照片", true)
                        .await?;
                }
            }
            if reached >= 4 {
                let outcome = match rng.below(30) {
                    0 => Outcome::NotImplementable,
                    1 => Outcome::Merged,
                    2 => Outcome::DisputeUpheld,
                    3..=5 => Outcome::PartlyImplemented,
                    _ => Outcome::Implemented,
                };
                work.act(Action::Close { outcome }, Role::Inspector, "现场核实整改到位，同意销号", false).await?;
                out.closed += 1;
                // A month on, the re-check: most fixes hold, some came undone.
                if days_ago > 45 {
                    if rng.below(12) == 0 {
                        work.act(
                            Action::Recheck { passed: false, days: 10 },
                            Role::Inspector,
                            "回头看：问题反弹",
                            false,
                        )
                        .await?;
                        // Long enough ago, the re-work is done and closed again.
                        if days_ago > 75 {
                            let note = "已重新整改，建立长效机制";
                            work.act(Action::SubmitFinal { evidence: 1 }, Role::UnitHead, note, true).await?;
                            let outcome = Outcome::Implemented;
                            work.act(Action::Close { outcome }, Role::Inspector, "复查整改到位", false).await?;
                        } else {
                            out.closed -= 1;
                        }
                    } else {
                        work.act(Action::Recheck { passed: true, days: 1 }, Role::Inspector, "回头看：整改保持", false)
                            .await?;
                    }
                }
            }
        }
        shift(store, &visit.id, days_ago).await?;
    }
    meetings(store, calendar, files, &mut out).await?;
    // The open items get their colours now, and the ladder its rungs.
    ladder::sweep(store, &rule, now_ms()).await?;
    out.held = usize::try_from(items::held_to_account(store).await?).unwrap_or(0);
    Ok(out)
}

/// Each team's plans: this quarter's open inspection of its stations and a secret one this month.
async fn plans(store: &Store, teams: &[crate::store::teams::Team]) -> Result<(), StoreError> {
    let today = chrono::DateTime::from_timestamp_millis(now_ms() + crate::domain::time::CST_OFFSET_MS)
        .unwrap_or_default()
        .date_naive();
    let day = |d: i64| (today + chrono::Duration::days(d)).format("%Y-%m-%d").to_string();
    for team in teams {
        let Some(station) = team.stations.first() else { continue };
        let actor = Actor {
            name: team.members.iter().find_map(|m| m.username.clone()).unwrap_or_else(|| "inspector01".into()),
            client_addr: String::new(),
        };
        let leader = team.members.first().map(|m| m.name.clone()).unwrap_or_default();
        for (title, mode, from, to) in [
            (format!("{}政务服务窗口作风巡查", station.org_name), Mode::Open, -80, 10),
            (format!("{}窗口工作纪律暗访", station.org_name), Mode::Secret, -5, 25),
        ] {
            let new = crate::store::inspection::NewPlan {
                team_code: team.code.clone(),
                title,
                mode,
                scope_code: station.org_code.clone(),
                targets: "政务服务大厅、基层站所办事窗口：在岗在位、一次性告知、服务态度".into(),
                leader: leader.clone(),
                starts_on: day(from),
                ends_on: day(to),
                checklist: crate::domain::inspection::DEFAULT_CHECKLIST.iter().map(|(k, _)| (*k).to_owned()).collect(),
            };
            inspection::write_plan(store, &new, &actor).await?;
        }
    }
    Ok(())
}

/// The coordination meetings on the demo enterprise's power connection: one held six weeks ago
/// with its decisions (one done, one late), the follow-up two weeks ago that opened with their
/// state, and one held yesterday whose minutes are still due.
async fn meetings(
    store: &Store,
    calendar: &CalendarHandle,
    files: &Path,
    out: &mut LedgerDemo,
) -> Result<(), StoreError> {
    use crate::store::meetings::{self, NewMeeting};
    let scope = crate::domain::ids::OrgCode::parse("XN-CD").map_err(|e| StoreError::Misuse(leak(e.0)))?;
    let unit = "XN-CD-GA-001".to_owned();
    let actor = Actor { name: "supervisor".into(), client_addr: String::new() };
    let attendees = ["青海高原光伏科技有限公司", "城东区供电所", "城东区发展和改革局", "王副区长"];
    let mut previous = None;
    for (n, (days_ago, title, decisions)) in [
        (42, "光伏项目用电增容现场协调会", 2),
        (14, "光伏项目用电增容现场协调会（二）", 1),
        (1, "园区道路开口施工许可协调会", 0),
    ]
    .into_iter()
    .enumerate()
    {
        let now = now_ms();
        let new = NewMeeting {
            title: title.into(),
            scope: scope.clone(),
            previous_id: if n == 1 { previous.clone() } else { None },
            held_at: now,
            place: "城东区政务服务中心三楼会议室".into(),
            attendees: attendees.iter().map(|a| (*a).to_owned()).collect(),
            agenda: "企业诉求、部门办理进展、下一步安排".into(),
            minutes_due_at: now + 3 * DAY,
        };
        let m = meetings::record(store, &new, &actor).await?;
        if decisions > 0 {
            let items: Vec<items::NewItem> = (0..decisions)
                .map(|i| items::NewItem {
                    title: ["一周内完成现场勘查", "月底前完成增容送电"][i].into(),
                    requirements: "按会议议定时限办结并报送佐证材料".into(),
                    source: crate::domain::item::Source::MeetingDecision,
                    level: Level::Key,
                    category: "协调会议定".into(),
                    unit_code: unit.clone(),
                    assisting: Vec::new(),
                    responsible_leader: "王建国".into(),
                    responsible_person: "马超".into(),
                    days: if i == 0 { 5 } else { 15 },
                    team_code: None,
                    visit_id: None,
                    sheet_id: None,
                    case_id: None,
                    meeting_id: None,
                    parent_id: None,
                    weight: 1,
                })
                .collect();
            let m = meetings::issue_minutes(
                store,
                calendar,
                &m,
                "会议听取了企业诉求和各部门办理情况，议定如下。",
                &items,
                &actor,
                Role::Supervisor,
            )
            .await?;
            out.items += items.len();
            let ids: Vec<String> = meetings::decisions(store, &m.id).await?.into_iter().map(|i| i.id).collect();
            if let Some(first) = ids.first() {
                let head = Actor { name: "unithead".into(), client_addr: String::new() };
                let work = Work { store, calendar, id: first, head: &head, verifier: &actor, files };
                work.act(Action::Acknowledge, Role::UnitHead, "已签收", false).await?;
            }
        }
        meetings::move_back(store, &m.id, days_ago * DAY).await?;
        previous = Some(m.id);
    }
    Ok(())
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// One item being worked.
struct Work<'a> {
    store: &'a Store,
    calendar: &'a CalendarHandle,
    id: &'a str,
    head: &'a Actor,
    verifier: &'a Actor,
    files: &'a Path,
}

impl Work<'_> {
    /// Takes `action` as `role` (the unit's contact or the team's inspector) with `note`, with
    /// a photo of the fix (its own) when `evidence`.
    async fn act(&self, action: Action, role: Role, note: &str, evidence: bool) -> Result<(), StoreError> {
        self.act_with(action, role, note, evidence.then(|| format!("fix:{}", self.id))).await
    }

    /// Reports the fix with the one photo the demo's careless units share.
    async fn reused_photo(&self) -> Result<(), StoreError> {
        let note = "已按要求整改，附整改前后照片";
        self.act_with(Action::SubmitFinal { evidence: 1 }, Role::UnitHead, note, Some("fix:shared".into())).await
    }

    /// [`Work::act`] with a photo showing `photo` (a QR code of it: a real, distinct PNG).
    async fn act_with(&self, action: Action, role: Role, note: &str, photo: Option<String>) -> Result<(), StoreError> {
        let actor = if role == Role::UnitHead { self.head } else { self.verifier };
        let Some(item) = items::get(self.store, self.id).await? else { return Ok(()) };
        let mut attachments = Vec::new();
        if let Some(data) = photo {
            let png = crate::qr::png(&data, 2).map_err(|e| StoreError::Misuse(leak(e)))?;
            let files = apply::TABLES.files();
            let a = workflow::save_attachment(
                self.store,
                self.files,
                &files,
                self.id,
                "整改后.png",
                "image/png",
                &png,
                actor,
            )
            .await?;
            attachments.push(a.id);
        }
        let facts = Facts {
            state: item.state,
            now: now_ms(),
            deadline: item.deadline_at,
            extension_pending: item.extension_days.is_some(),
            actor_reported: item.reported_by.as_deref() == Some(actor.name.as_str()),
            final_evidence: apply::final_evidence(self.store, self.id).await?,
        };
        let Ok(t) = transition(&facts, action, role) else { return Ok(()) };
        let details = Details { note: note.into(), attachments };
        apply::apply(self.store, self.calendar, &item, t, &details, actor, role).await.map_err(|e| match e {
            apply::ApplyError::Store(s) => s,
            other => StoreError::Misuse(leak(other.to_string())),
        })?;
        Ok(())
    }
}

/// An open item as the ladder reads it.
async fn open_item(store: &Store, id: &str) -> Result<Option<ladder::Open>, StoreError> {
    let Some(i) = items::get(store, id).await? else { return Ok(None) };
    Ok(Some(ladder::Open {
        id: i.id,
        title: i.title,
        number: i.number,
        unit: i.unit_code,
        unit_name: i.unit_name,
        office: i.office_code,
        state: i.state.as_str().into(),
        person: i.responsible_person,
        progress: i.progress,
        started_at: i.started_at,
        deadline_at: i.deadline_at,
        colour: i.colour,
    }))
}

/// Moves a visit and all it led to back by `days_ago` days, as if it happened then.
async fn shift(store: &Store, visit: &str, days_ago: i64) -> Result<(), StoreError> {
    inspection::move_back(store, visit, days_ago * DAY).await
}
