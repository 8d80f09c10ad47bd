//! The demo city's key projects and enterprise desk. [`base`] (part of every demo load) makes
//! the four parks and their desks' promises, five industrial chains with their chain leaders,
//! the firms (with valid credit codes) and the 36 key projects of the source, ¥63.313bn
//! committed; the demo's firm users and the park's cadre are bound to them. [`generate`] (with
//! the rating history, `serve --demo`) adds their monthly reports to last month, ¥19.82bn
//! arrived in all, and three months of channel traffic whose desk requests stand in every state:
//! replied within ten minutes and late, complex with a plan on time and late, awaiting the
//! firm, confirmed and rated, rejected, withdrawn (checked and not), handed over, waiting for a
//! ruling, escalated to the ledger, and waiting for a reply right now. The machine itself runs
//! every step, in the demo's own time.

use chrono::{Datelike, Months, NaiveDate};

use crate::calendar_data::CalendarHandle;
use crate::demo::{ROOT, Rng};
use crate::domain::enterprise::Uscc;
use crate::domain::enterprise::desk::{Action, DeskSettings, transition};
use crate::domain::enterprise::project::{FundingSource, ProjectLevel, ProjectStage};
use crate::domain::enterprise::uscc::check_char;
use crate::domain::role::Role;
use crate::store::audit::Actor;
use crate::store::enterprise::desk::{self, Author, Details, Post, ProjectRef};
use crate::store::enterprise::projects::{self, NewProject, NewReport};
use crate::store::enterprise::{self as ent, NewEnterprise, Viewer};
use crate::store::{Store, StoreError, now_ms};

const DAY: i64 = 86_400_000;
const MINUTE: i64 = 60_000;

/// Committed investment of the 36 projects, 万元 (¥63.313bn).
pub const COMMITTED_WAN: f64 = 6_331_300.0;

/// Funds arrived to date, 万元 (¥19.82bn).
pub const ARRIVED_WAN: f64 = 1_982_000.0;

/// The parks: org code, name, English name.
pub const PARKS: [(&str, &str, &str); 4] = [
    ("XN-NCYQ", "南川工业园区管委会", "Nanchuan Industrial Park"),
    ("XN-GHYQ", "甘河工业园区管委会", "Ganhe Industrial Park"),
    ("XN-DCYQ", "东川工业园区管委会", "Dongchuan Industrial Park"),
    ("XN-SWYQ", "生物科技产业园区管委会", "Biotech Industrial Park"),
];

/// The chains: name, chain leader, the park that runs its task force.
const CHAINS: [(&str, &str, usize); 5] = [
    ("光伏制造产业链", "副市长 王立新", 0),
    ("锂电产业链", "副市长 陈志刚", 0),
    ("有色合金新材料产业链", "副市长 李文华", 1),
    ("生物医药产业链", "副市长 赵丽萍", 3),
    ("高原特色农畜产品加工产业链", "副市长 马永福", 2),
];

/// The firms: name, industry, park, size, chain, role in it.
const FIRMS: [(&str, &str, usize, &str, usize, &str); 20] = [
    ("青海高原光伏科技有限公司", "光伏制造", 0, "large", 0, "lead"),
    ("青海康源药业有限公司", "中藏药制造", 3, "medium", 3, "member"),
    ("青海锂源新能源材料有限公司", "锂电材料", 0, "large", 1, "lead"),
    ("西宁晶科硅材料有限公司", "多晶硅", 0, "large", 0, "member"),
    ("青海储能电池科技有限公司", "储能电池", 0, "medium", 1, "member"),
    ("青海光华玻璃有限公司", "光伏玻璃", 0, "medium", 0, "member"),
    ("青海宏达铝业有限公司", "铝合金", 1, "large", 2, "lead"),
    ("青海镁源合金有限公司", "镁合金", 1, "medium", 2, "member"),
    ("西宁铜箔科技有限公司", "电子铜箔", 1, "medium", 2, "member"),
    ("青海特钢制品有限公司", "特种钢材", 1, "large", 2, "member"),
    ("青海循环资源利用有限公司", "固废利用", 1, "small", 2, "target"),
    ("青海智能装备制造有限公司", "电网装备", 2, "medium", 0, "member"),
    ("西宁冷链物流有限公司", "冷链物流", 2, "medium", 4, "member"),
    ("青海高原云数据有限公司", "数据中心", 2, "medium", 0, "target"),
    ("青海绿色建材有限公司", "绿色建材", 2, "small", 2, "member"),
    ("青海牦牛乳业有限公司", "乳制品", 2, "medium", 4, "lead"),
    ("青海藏医药集团有限公司", "藏药", 3, "large", 3, "lead"),
    ("青海枸杞生物科技有限公司", "枸杞加工", 3, "small", 4, "member"),
    ("青海沙棘健康产业有限公司", "沙棘制品", 3, "small", 4, "member"),
    ("青海医疗器械产业园有限公司", "医疗器械", 3, "medium", 3, "target"),
];

/// The 36 key projects: name, firm, level.
const PROJECTS: [(&str, usize, &str); 36] = [
    ("年产10GW高效单晶硅片项目", 0, "province"),
    ("年产5万吨电池级碳酸锂项目", 2, "province"),
    ("锂电池正极材料一体化项目", 2, "city"),
    ("5GW光伏组件智能制造项目", 0, "city"),
    ("高纯晶硅扩产项目", 3, "province"),
    ("光伏玻璃生产线项目", 5, "city"),
    ("储能电池PACK生产线项目", 4, "city"),
    ("动力电池回收利用项目", 4, "county"),
    ("电子级多晶硅项目", 3, "city"),
    ("光伏电站运维中心项目", 0, "county"),
    ("高性能铝合金板带项目", 6, "province"),
    ("镁合金压铸件项目", 7, "city"),
    ("电解铝节能改造项目", 6, "city"),
    ("锂电铜箔生产线项目", 8, "city"),
    ("硅铁合金绿色升级项目", 9, "county"),
    ("工业固废综合利用项目", 10, "county"),
    ("特种钢材深加工项目", 9, "city"),
    ("稀有金属新材料项目", 7, "province"),
    ("智能电网装备项目", 11, "city"),
    ("光伏支架智能制造项目", 11, "county"),
    ("冷链物流园项目", 12, "city"),
    ("高原云数据中心项目", 13, "province"),
    ("绿色建材产业园项目", 14, "city"),
    ("风电装备制造项目", 11, "city"),
    ("高原特色农产品加工项目", 15, "county"),
    ("牦牛乳制品深加工项目", 15, "city"),
    ("藏药现代化生产基地项目", 16, "province"),
    ("中藏药饮片扩产项目", 1, "city"),
    ("生物制剂研发中心项目", 1, "city"),
    ("枸杞精深加工项目", 17, "county"),
    ("沙棘系列产品项目", 18, "county"),
    ("医疗器械产业园项目", 19, "city"),
    ("藏药浴制剂项目", 16, "city"),
    ("中药配方颗粒项目", 1, "city"),
    ("生物医药中试基地项目", 19, "province"),
    ("青稞功能食品项目", 17, "county"),
];

/// The positive list: what officials should do in their dealings with firms.
const POSITIVE: [&str; 8] = [
    "主动深入企业走访调研，了解企业生产经营情况和困难诉求",
    "在法定职责范围内为企业解读政策、协调解决合理诉求",
    "对重点项目实行项目管家制，全程跟踪服务项目落地",
    "依法依规公开办事流程、办理时限和收费标准，一次性告知办事要件",
    "按承诺时限兑现招商引资优惠政策和奖补资金",
    "在企业遇到困难时主动协调金融机构、上下游企业给予支持",
    "邀请企业参加涉企政策制定前的座谈，听取意见建议",
    "对企业反映的问题及时回复、跟踪到底、结果反馈",
];

/// The negative list: what officials must not do.
const NEGATIVE: [&str; 10] = [
    "不得吃拿卡要，不得接受企业安排的宴请、礼品礼金和消费卡",
    "不得在企业报销应由个人或单位支付的费用",
    "不得利用职权为亲属在企业谋取利益或安排就业",
    "不得对企业诉求推诿扯皮、敷衍塞责、久拖不办",
    "不得要求企业撤回未解决的诉求或隐瞒问题",
    "不得违规增设审批条件、额外要求企业提供证明材料",
    "不得拖欠企业账款或不兑现已承诺的政策",
    "不得违规干预企业正常生产经营活动",
    "不得以检查、调研为名随意打扰企业",
    "不得向企业摊派或变相摊派费用",
];

const PERSONS: [&str; 10] = ["张明", "李海燕", "王志刚", "马秀兰", "韩建国", "祁文", "赵磊", "刘娟", "陈晓东", "杨帆"];

/// The credit code of demo firm `n`: registered in 西宁 (630100), checked.
pub fn credit_code(n: usize) -> String {
    let head = format!("91630100MA7{:05}{}", 21_000 + n * 37, ["A", "B", "C", "D"][n % 4]);
    format!("{head}{}", check_char(&head).unwrap_or('0'))
}

fn park_of(project: usize) -> usize {
    FIRMS[PROJECTS[project].1].2
}

fn today() -> NaiveDate {
    crate::domain::time::date_of(now_ms())
}

/// Where project `i` stands and its dates, relative to today: 4 signed (one still to start,
/// two late, one three months late), 6 in production, 26 building.
fn schedule(i: usize, rng: &mut Rng) -> (ProjectStage, NaiveDate, NaiveDate, Option<NaiveDate>) {
    let t = today();
    let days = |n: i64| chrono::Duration::days(n);
    match i {
        0..=25 => {
            let start = t - days(90 + (rng.below(450)) as i64);
            let finish = start + days(540 + rng.below(360) as i64);
            (ProjectStage::Building, start, finish, Some(start + days(rng.below(20) as i64)))
        }
        26..=31 => {
            let start = t - days(760 + rng.below(200) as i64);
            (ProjectStage::Producing, start, start + days(540), Some(start))
        }
        32 => (ProjectStage::Signed, t + days(45), t + days(600), None),
        33 | 34 => (ProjectStage::Signed, t - days(35 + 10 * (i as i64 - 33)), t + days(500), None),
        _ => (ProjectStage::Signed, t - days(130), t + days(420), None),
    }
}

/// The parks, chains, firms and key projects, and the demo's desk users bound to them. Does
/// nothing when the parks are set already.
pub async fn base(store: &Store) -> Result<(), StoreError> {
    if !ent::parks(store).await?.is_empty() {
        return Ok(());
    }
    let actor = Actor { name: "demo".into(), client_addr: String::new() };
    for (i, (code, _, _)) in PARKS.iter().enumerate() {
        // 南川 promises the source's 10 minutes; the biotech park answers on working days only.
        let s = DeskSettings { working_days_only: i == 3, ..DeskSettings::default() };
        ent::set_park(store, code, &s, &actor).await?;
    }
    let mut chains = Vec::new();
    for (name, leader, park) in CHAINS {
        let description = format!("{name}：链长统筹，链主带动，专班推进招商、要素保障和项目落地");
        let c = ent::create_chain(store, name, leader, Some(PARKS[park].0), &description, &actor).await?;
        chains.push(c.map(|c| c.id).unwrap_or_default());
    }
    let mut firms = Vec::new();
    for (n, (name, industry, park, size, chain, role)) in FIRMS.iter().enumerate() {
        let new = NewEnterprise {
            uscc: Uscc::parse(&credit_code(n)).map_err(|_| StoreError::Misuse("demo credit code"))?,
            name: (*name).into(),
            industry: (*industry).into(),
            park_code: Some(PARKS[*park].0.into()),
            size: (*size).into(),
            chain_id: Some(chains[*chain].clone()),
            chain_role: Some((*role).into()),
            contact: format!("{} 138{:08}", PERSONS[n % PERSONS.len()], 9_700_000 + n * 131),
        };
        let firm = ent::register(store, &new, &actor).await.map_err(|e| match e {
            ent::RegisterError::Store(s) => s,
            _ => StoreError::Misuse("demo firm refused"),
        })?;
        firms.push(firm.id);
    }
    ent::add_user(store, &firms[0], "enterprise", &actor).await?;
    ent::add_user(store, &firms[1], "enterprise2", &actor).await?;

    let positive: Vec<String> = POSITIVE.iter().map(|r| (*r).to_owned()).collect();
    let negative: Vec<String> = NEGATIVE.iter().map(|r| (*r).to_owned()).collect();
    crate::store::enterprise::conduct::publish(store, "positive", "西宁市政商交往正面清单", &positive, &actor).await?;
    crate::store::enterprise::conduct::publish(store, "negative", "西宁市政商交往负面清单", &negative, &actor).await?;

    let mut rng = Rng(202_136);
    let raw: Vec<f64> = (0..PROJECTS.len()).map(|_| 3.0 + rng.unit() * 27.0).collect();
    let scale = COMMITTED_WAN / raw.iter().sum::<f64>();
    let mut amounts: Vec<f64> = raw.iter().map(|r| (r * scale / 10.0).round() * 10.0).collect();
    let last = amounts.len() - 1;
    amounts[last] += COMMITTED_WAN - amounts.iter().sum::<f64>();
    let mut tx = store.write().await?;
    for (i, (name, firm, level)) in PROJECTS.iter().enumerate() {
        let (stage, start, finish, started) = schedule(i, &mut rng);
        let park = park_of(i);
        let total = amounts[i];
        let own = (total * (0.4 + rng.unit() * 0.2) / 10.0).round() * 10.0;
        let government = if i % 4 == 0 { (total * 0.1 / 10.0).round() * 10.0 } else { 0.0 };
        let foreign = if i % 9 == 4 { (total * 0.08 / 10.0).round() * 10.0 } else { 0.0 };
        let mut funding =
            vec![(FundingSource::OwnFunds, own), (FundingSource::BankLoan, total - own - government - foreign)];
        if government > 0.0 {
            funding.push((FundingSource::Government, government));
        }
        if foreign > 0.0 {
            funding.push((FundingSource::Foreign, foreign));
        }
        let span = (finish - start).num_days();
        let node = |share: f64| start + chrono::Duration::days((span as f64 * share) as i64);
        let nodes = vec![
            ("取得项目用地".to_owned(), start - chrono::Duration::days(60), "自然资源和规划局".to_owned()),
            ("取得施工许可".to_owned(), start - chrono::Duration::days(10), "住房和城乡建设局".to_owned()),
            ("开工建设".to_owned(), start, PERSONS[i % PERSONS.len()].to_owned()),
            ("主体完工".to_owned(), node(0.6), PERSONS[i % PERSONS.len()].to_owned()),
            ("设备安装调试".to_owned(), node(0.85), PERSONS[(i + 3) % PERSONS.len()].to_owned()),
            ("竣工投产".to_owned(), finish, PERSONS[(i + 5) % PERSONS.len()].to_owned()),
        ];
        let new = NewProject {
            code: format!("XN-ZD-{:03}", i + 1),
            name: (*name).into(),
            park_code: PARKS[park].0.into(),
            chain_id: Some(chains[FIRMS[*firm].4].clone()),
            level: ProjectLevel::parse(level).unwrap_or(ProjectLevel::City),
            stage,
            funding,
            signed_on: start - chrono::Duration::days(120),
            planned_start: start,
            planned_finish: finish,
            started_on: started,
            unit_code: PARKS[park].0.into(),
            responsible_person: PERSONS[(i + 1) % PERSONS.len()].into(),
            manager: (park == 0).then(|| "cadre".to_owned()),
            city_leader: CHAINS[FIRMS[*firm].4].1.into(),
            description: format!("{}建设{name}，达产后年产值约{:.0}亿元。", FIRMS[*firm].0, total / 10_000.0 * 1.6),
            firms: vec![credit_code(*firm)],
            nodes,
        };
        projects::create_in(&mut tx, &new, &actor).await.map_err(|e| match e {
            projects::ProjectError::Store(s) => s,
            _ => StoreError::Misuse("demo project refused"),
        })?;
    }
    tx.commit().await?;
    Ok(())
}

/// What [`generate`] made.
#[derive(Debug, Default, Clone, Copy)]
pub struct DeskDemo {
    /// Monthly reports written.
    pub reports: usize,
    /// Channel messages.
    pub messages: usize,
    /// Desk requests.
    pub requests: usize,
}

/// The monthly reports and the channels' traffic (nothing when reports exist already).
pub async fn generate(store: &Store, calendar: &CalendarHandle) -> Result<DeskDemo, StoreError> {
    base(store).await?;
    let mut out = DeskDemo::default();
    let viewer_scopes = [crate::domain::ids::OrgCode::parse(ROOT).map_err(|_| StoreError::Misuse("root"))?];
    let viewer = Viewer::Staff { user: "", scopes: &viewer_scopes };
    let (all, _) = projects::list(store, &viewer, &projects::Filter { limit: 100, ..Default::default() }).await?;
    let mut details = Vec::new();
    for p in &all {
        if let Some(d) = projects::get(store, &viewer, &p.code).await? {
            if !d.reports.is_empty() {
                return Ok(out);
            }
            details.push(d);
        }
    }
    out.reports = reports(store, &details).await?;
    let (messages, requests) = traffic(store, calendar, &details).await?;
    out.messages = messages;
    out.requests = requests;
    Ok(out)
}

/// Monthly reports from each project's start to last month, paced so that most projects keep
/// to their plan, a few trail it, and the funds arrived add up to the source's ¥19.82bn.
async fn reports(store: &Store, details: &[projects::ProjectDetail]) -> Result<usize, StoreError> {
    let mut rng = Rng(1_982);
    let this_month = today().with_day(1).unwrap_or_else(today);
    // Shares of the committed investment completed and arrived, per project.
    let mut plans = Vec::new();
    for (i, d) in details.iter().enumerate() {
        let p = &d.project;
        let Some(started) = p.started_on.as_deref().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) else {
            plans.push(None);
            continue;
        };
        let planned = p.planned_percent / 100.0;
        let pace = match i % 9 {
            3 => 0.72,
            7 => 0.45,
            _ => 0.95 + rng.unit() * 0.12,
        };
        let done = if p.stage == ProjectStage::Producing { 1.0 } else { (planned * pace).min(1.0) };
        let arrived = done * (0.55 + rng.unit() * 0.35);
        plans.push(Some((started, done, arrived)));
    }
    let raw: f64 = details.iter().zip(&plans).filter_map(|(d, p)| p.map(|(_, _, a)| a * d.project.committed_wan)).sum();
    let k = ARRIVED_WAN / raw.max(1.0);
    let actor = Actor { name: "cadre".into(), client_addr: String::new() };
    let mut written = 0;
    let mut tx = store.write().await?;
    let mut arrived_total = 0.0;
    let mut last: Option<String> = None;
    for (d, plan) in details.iter().zip(plans) {
        let Some((started, done, arrived)) = plan else { continue };
        let first = started.with_day(1).unwrap_or(started);
        let months: Vec<NaiveDate> =
            (0..36).filter_map(|m| first.checked_add_months(Months::new(m))).filter(|m| *m < this_month).collect();
        if months.is_empty() {
            continue;
        }
        // Work and money come unevenly month to month (winters are slow on the plateau).
        let weights: Vec<f64> =
            months.iter().map(|m| if matches!(m.month(), 12 | 1 | 2) { 0.4 } else { 0.8 + rng.unit() * 0.5 }).collect();
        let sum_w: f64 = weights.iter().sum();
        let committed = d.project.committed_wan;
        let planned: f64 = d.funding.iter().map(|f| f.planned_wan).sum::<f64>().max(1.0);
        for (month, w) in months.iter().zip(&weights) {
            let share = w / sum_w;
            let done_month = (committed * done * share * 100.0).round() / 100.0;
            let arrived_month = committed * arrived * k * share;
            let funds: Vec<(FundingSource, f64)> = d
                .funding
                .iter()
                .map(|f| (f.source, (arrived_month * f.planned_wan / planned * 100.0).round() / 100.0))
                .filter(|(_, a)| *a > 0.0)
                .collect();
            arrived_total += funds.iter().map(|(_, a)| a).sum::<f64>();
            let note = if matches!(month.month(), 12 | 1 | 2) {
                format!("{}冬季施工放缓，完成投资{:.0}万元。", month.format("%Y年%m月"), done_month)
            } else {
                format!("{}完成投资{:.0}万元，资金按计划到位。", month.format("%Y年%m月"), done_month)
            };
            let report = NewReport { month: month.format("%Y-%m").to_string(), completed_wan: done_month, funds, note };
            projects::report_in(&mut tx, &d.project.id, &report, &actor).await.map_err(|e| match e {
                projects::ProjectError::Store(s) => s,
                _ => StoreError::Misuse("demo report refused"),
            })?;
            written += 1;
        }
        last = Some(d.project.id.clone());
    }
    // The rounding's remainder goes to the last report, so the total is the source's figure.
    if let Some(project) = last {
        let rest = ((ARRIVED_WAN - arrived_total) * 100.0).round() / 100.0;
        projects::adjust_last_funds(&mut tx, &project, FundingSource::OwnFunds, rest).await?;
    }
    tx.commit().await?;
    Ok(written)
}

/// What firms raise, by kind: the title and the message.
const PROBLEMS: [(&str, &str); 12] = [
    ("施工用电报装迟迟未接", "我们二期厂房施工用电报装已经两周了，供电公司说要等线路改造，工期很紧，请协调。"),
    ("环评批复进度", "环评报告已经报送一个月，还没有批复，影响设备进场，能否帮忙催一下？"),
    ("道路开口审批", "厂区南侧需要开一个道路出入口，交警和住建都说不归他们管，麻烦明确一下找谁。"),
    ("园区补贴未兑现", "去年的设备投资补贴按政策应在今年一季度拨付，到现在还没到位。"),
    ("用工招聘困难", "新产线需要120名技术工人，本地招聘困难，希望人社部门组织专场招聘会。"),
    ("天然气接入价格", "天然气接入费报价比周边园区高很多，请帮助核实收费依据。"),
    ("施工许可证办理", "施工许可材料已经齐全，窗口说还要补一个证明，之前没有告知。"),
    ("排水管网接入", "厂区污水需要接入园区管网，管网公司迟迟不给接入方案。"),
    ("消防验收预约", "消防验收预约排到两个月以后，影响投产时间，能否加快？"),
    ("土地证办理", "土地出让金已经缴清三个月，不动产权证还没拿到，影响融资。"),
    ("物流通道拥堵", "园区北门货车每天排队两小时以上，希望协调交警疏导。"),
    ("员工宿舍配套", "园区承诺的人才公寓还没有交付，新招员工住宿困难。"),
];

/// How a demo request's story goes.
#[derive(Debug, Clone, Copy)]
enum Story {
    /// Replied within minutes, fixed, confirmed and rated.
    Quick,
    /// Complex: a plan within the solution clock, fixed, confirmed.
    Planned,
    /// Replied late, fixed, confirmed with a middling rating.
    LateReply,
    /// Complex, the plan late, still being solved.
    LatePlan,
    /// Fixed, waiting for the firm.
    AwaitingFirm,
    /// The firm rejected the fix; being solved again.
    Rejected,
    /// Withdrawn, not yet checked.
    Withdrawn,
    /// Withdrawn; the check found the firm was pressed, so it is open again.
    PressedToWithdraw,
    /// Handed over once (with its basis) and being solved there.
    HandedOver,
    /// Handed over twice: waiting for the owner's ruling.
    Ruling,
    /// Overdue and made a supervision item.
    Escalated,
    /// Posted minutes ago: the reply clock runs.
    Waiting,
    /// Posted an hour ago and not answered: past its clock.
    Unanswered,
}

/// The stories of the demo's requests, oldest first (most go well, as the source reports).
const STORIES: [Story; 40] = {
    use Story::*;
    [
        Quick,
        Quick,
        Planned,
        Quick,
        LateReply,
        Quick,
        Quick,
        Planned,
        Quick,
        Withdrawn,
        Quick,
        Quick,
        Planned,
        Quick,
        LateReply,
        Quick,
        Quick,
        PressedToWithdraw,
        Quick,
        Planned,
        Quick,
        Quick,
        HandedOver,
        Quick,
        Quick,
        Planned,
        Rejected,
        Quick,
        Quick,
        LatePlan,
        Quick,
        Escalated,
        Quick,
        HandedOver,
        AwaitingFirm,
        Ruling,
        Quick,
        AwaitingFirm,
        Unanswered,
        Waiting,
    ]
};

struct Desk<'a> {
    store: &'a Store,
    calendar: &'a CalendarHandle,
    messages: usize,
}

impl Desk<'_> {
    async fn act(
        &mut self,
        id: &str,
        action: Action,
        who: (&str, Role, &str),
        note: &str,
        unit: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        let Some(r) = desk::get(self.store, id).await? else { return Ok(()) };
        let actor = Actor { name: who.0.into(), client_addr: String::new() };
        let facts = desk::facts(self.store, &r, who.0, at).await?;
        let Ok(t) = transition(&facts, action, who.1) else { return Ok(()) };
        let d = Details {
            note: note.into(),
            unit: unit.and_then(|u| crate::domain::ids::OrgCode::parse(u).ok()),
            attachments: Vec::new(),
        };
        let author = Author { actor: &actor, role: who.1, name: who.2 };
        desk::apply_at(self.store, self.calendar, &r, t, &d, &author, at).await.map_err(|e| match e {
            desk::ApplyError::Store(s) => s,
            other => StoreError::Audit(format!("demo request: {other}")),
        })?;
        self.messages += 1;
        Ok(())
    }
}

/// Three months of channel traffic on the parks' projects, with requests in every state.
async fn traffic(
    store: &Store,
    calendar: &CalendarHandle,
    details: &[projects::ProjectDetail],
) -> Result<(usize, usize), StoreError> {
    let mut rng = Rng(1_010);
    let now = now_ms();
    let cadre = ("cadre", Role::UnitHead, "南川工业园区管委会 项目管家");
    let boss = ("supervisor", Role::Supervisor, "营商环境监督局 督查员");
    let mut desk = Desk { store, calendar, messages: 0 };
    // The projects with traffic: the demo firm's, then the others of 南川 and one per park.
    let mut chosen: Vec<&projects::ProjectDetail> = details
        .iter()
        .filter(|d| d.project.park_code == PARKS[0].0 && d.project.stage != ProjectStage::Signed)
        .collect();
    chosen.truncate(8);
    for park in &PARKS[1..] {
        if let Some(d) =
            details.iter().find(|d| d.project.park_code == park.0 && d.project.stage == ProjectStage::Building)
        {
            chosen.push(d);
        }
    }
    let mut requests = 0;
    for (n, story) in STORIES.iter().enumerate() {
        let d = chosen[n % chosen.len()];
        let firm_name = d.firms.first().map(|f| f.2.clone()).unwrap_or_default();
        let firm_id = d.firms.first().map(|f| f.0.clone()).unwrap_or_default();
        let firm_user = if d.firms.first().is_some_and(|f| f.1 == credit_code(0)) {
            "enterprise".to_owned()
        } else {
            format!("{}联络员", firm_name.trim_end_matches("有限公司"))
        };
        // 南川's 项目管家 answers there; the other parks' duty officers answer theirs.
        let park_name = PARKS.iter().find(|p| p.0 == d.project.park_code).map_or("", |p| p.1);
        let duty = format!("{park_name} 值班员");
        let cadre = if d.project.park_code == PARKS[0].0 { cadre } else { ("duty", Role::UnitHead, duty.as_str()) };
        let firm = (firm_user.as_str(), Role::Enterprise, firm_name.as_str());
        let p = ProjectRef {
            id: d.project.id.clone(),
            park_code: d.project.park_code.clone(),
            unit_code: d.project.unit_code.clone(),
        };
        let (title, body) = PROBLEMS[n % PROBLEMS.len()];
        // Oldest first, over 90 days, posted in the morning or the afternoon.
        let day = 90 - (n as i64 * 90 / STORIES.len() as i64);
        let posted = match story {
            Story::Waiting => now - 3 * MINUTE,
            Story::Unanswered => now - 65 * MINUTE,
            _ => {
                let midnight =
                    crate::domain::time::day_start(crate::domain::time::date_of(now - day * DAY)).unwrap_or(now);
                midnight + (9 * 60 + rng.below(7 * 60) as i64) * MINUTE
            }
        };
        // A word first, then the problem.
        let hello =
            Post { body: "各位领导好，项目这边有个情况需要协调。", files: &[], problem: None };
        let who = Actor { name: firm.0.into(), client_addr: String::new() };
        let author = Author { actor: &who, role: Role::Enterprise, name: firm.2 };
        let map = |e: desk::ApplyError| match e {
            desk::ApplyError::Store(s) => s,
            other => StoreError::Audit(format!("demo channel: {other}")),
        };
        desk::post(store, calendar, &p, &author, &hello, posted - 2 * MINUTE).await.map_err(map)?;
        let problem = Post { body, files: &[], problem: Some((title, firm_id.as_str())) };
        let (_, id) = desk::post(store, calendar, &p, &author, &problem, posted).await.map_err(map)?;
        desk.messages += 2;
        let Some(id) = id else { continue };
        requests += 1;
        let reply_in = (2 + rng.below(7) as i64) * MINUTE;
        let at = |days: i64, minutes: i64| posted + days * DAY + minutes * MINUTE;
        let reply = "收到，已联系相关部门，今天内给您答复。";
        match story {
            Story::Waiting | Story::Unanswered => {}
            Story::Quick | Story::LateReply | Story::AwaitingFirm | Story::Rejected => {
                let first =
                    if matches!(story, Story::LateReply) { (15 + rng.below(30) as i64) * MINUTE } else { reply_in };
                desk.act(&id, Action::Reply, cadre, reply, None, posted + first).await?;
                desk.act(
                    &id,
                    Action::Resolve,
                    cadre,
                    "已协调解决：相关部门已办结，请企业确认。",
                    None,
                    at(1 + rng.below(2) as i64, 0),
                )
                .await?;
                match story {
                    Story::AwaitingFirm => {}
                    Story::Rejected => {
                        desk.act(&id, Action::Reject, firm, "问题没有真正解决，现场仍未通电。", None, at(3, 0)).await?;
                    }
                    _ => {
                        let rating = if matches!(story, Story::LateReply) { 3 } else { 4 + rng.below(2) as u8 };
                        desk.act(&id, Action::Confirm { rating }, firm, "已解决，感谢。", None, at(3, 30)).await?;
                    }
                }
            }
            Story::Planned | Story::LatePlan => {
                desk.act(&id, Action::Reply, cadre, reply, None, posted + reply_in).await?;
                desk.act(
                    &id,
                    Action::MarkComplex,
                    cadre,
                    "涉及多个部门，列为复杂诉求，三个工作日内提出解决方案。",
                    None,
                    posted + reply_in + MINUTE,
                )
                .await?;
                let plan_day = if matches!(story, Story::LatePlan) { 6 } else { 2 };
                desk.act(
                    &id,
                    Action::SubmitPlan { days: 10 },
                    cadre,
                    "解决方案：一、由园区牵头召开协调会；二、相关部门十个工作日内办结；三、每周向企业通报进展。",
                    None,
                    at(plan_day, 0),
                )
                .await?;
                if matches!(story, Story::Planned) {
                    desk.act(&id, Action::Resolve, cadre, "按方案办结。", None, at(plan_day + 9, 0)).await?;
                    desk.act(&id, Action::Confirm { rating: 5 }, firm, "方案落实到位。", None, at(plan_day + 10, 0))
                        .await?;
                }
            }
            Story::Withdrawn | Story::PressedToWithdraw => {
                desk.act(&id, Action::Reply, cadre, reply, None, posted + reply_in).await?;
                desk.act(&id, Action::Withdraw, firm, "不用处理了，先撤回。", None, at(1, 0)).await?;
                if matches!(story, Story::PressedToWithdraw) {
                    desk.act(
                        &id,
                        Action::CheckWithdrawal { pressed: true },
                        boss,
                        "回访企业负责人：经办人员要求企业撤回，问题并未解决。",
                        None,
                        at(3, 0),
                    )
                    .await?;
                }
            }
            Story::HandedOver | Story::Ruling => {
                let other = format!("{ROOT}-CZ-SJ");
                desk.act(
                    &id,
                    Action::HandOver { basis: true },
                    cadre,
                    "依据《优化营商环境条例》第三十五条，属市场监管部门职责。",
                    Some(&other),
                    posted + reply_in,
                )
                .await?;
                if matches!(story, Story::Ruling) {
                    desk.act(
                        &id,
                        Action::HandOver { basis: true },
                        ("cadre", Role::UnitHead, "城中区市场监督管理局"),
                        "依据三定方案，应由园区管委会负责。",
                        Some(PARKS[0].0),
                        posted + reply_in + 30 * MINUTE,
                    )
                    .await?;
                } else {
                    desk.act(
                        &id,
                        Action::Reply,
                        cadre,
                        "已移交市场监管部门，由其答复。",
                        None,
                        posted + reply_in + 5 * MINUTE,
                    )
                    .await?;
                }
            }
            Story::Escalated => {
                desk.act(&id, Action::Reply, cadre, reply, None, posted + reply_in).await?;
                desk.act(&id, Action::Escalate, boss, "超期未解决，转入督办。", None, now - DAY).await?;
            }
        }
    }
    Ok((desk.messages, requests))
}
