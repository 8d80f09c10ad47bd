//! The demo city: a deterministic, realistic Xining with 7 districts and counties, 40
//! departments, 3,200 units with windows and staff, 10 inspection teams and a user for every
//! role. Loaded through the same import path as real data.

use std::collections::HashMap;

use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::ids::{NewPassword, OrgCode, StaffNo, Username};
use crate::domain::org::{OrgKind, OrgRecord, StaffRecord, plan_org_import, plan_staff_import};
use crate::domain::rating::Scale;
use crate::domain::role::Role;
use crate::store::audit::Actor;
use crate::store::ratings::{self, RatingSettings, ReasonDef};
use crate::store::teams::{self, NewTeam};
use crate::store::users::{self, NewUser};
use crate::store::{Store, StoreError, org, rating_codes};

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "pingyi-demo";

/// The root of the demo tree.
pub const ROOT: &str = "XN";

/// How big a city to make.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    /// Number of units (default 3,200), spread over the 40 departments.
    pub units: usize,
    /// Draw progress bars on a terminal.
    pub progress: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { units: 3200, progress: true }
    }
}

/// What was loaded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    /// Whether the demo was already there (nothing was written).
    pub already_loaded: bool,
    /// Nodes created, by kind.
    pub nodes: usize,
    /// Staff created.
    pub staff: usize,
    /// Users: (username, role, scope).
    pub users: Vec<(String, Role, String)>,
    /// Inspection teams and their members.
    pub teams: (usize, usize),
    /// Rating codes issued (one per unit and window).
    pub codes: usize,
}

/// Why the demo could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A generated record was refused (a bug in the generator).
    #[error("demo data refused: {0}")]
    Invalid(String),
}

/// A tiny deterministic generator (SplitMix64), so the demo is the same on every machine.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A number in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const REGIONS: [(&str, &str, &str); 7] = [
    ("CD", "城东区", "Chengdong District"),
    ("CZ", "城中区", "Chengzhong District"),
    ("CX", "城西区", "Chengxi District"),
    ("CB", "城北区", "Chengbei District"),
    ("HZ", "湟中区", "Huangzhong District"),
    ("DT", "大通回族土族自治县", "Datong County"),
    ("HY", "湟源县", "Huangyuan County"),
];

/// District departments: code, name, English name, what their units are called.
const DISTRICT_DEPARTMENTS: [(&str, &str, &str, &str); 5] = [
    ("ZWFW", "政务服务中心", "Government Service Centre", "便民服务站"),
    ("GA", "公安分局", "Public Security Bureau", "派出所"),
    ("WJ", "卫生健康局", "Health Commission", "社区卫生服务中心"),
    ("RS", "人力资源和社会保障局", "Human Resources and Social Security Bureau", "社保服务站"),
    ("SJ", "市场监督管理局", "Market Regulation Bureau", "市场监管所"),
];

/// City-level departments directly under the city.
const CITY_DEPARTMENTS: [(&str, &str, &str, &str); 5] = [
    ("GJJ", "西宁市住房公积金管理中心", "Housing Provident Fund Centre", "公积金服务网点"),
    ("GS", "西宁供水集团", "Xining Water Supply Group", "供水营业厅"),
    ("GD", "国网西宁供电公司", "Xining Power Supply Company", "供电营业厅"),
    ("YL", "西宁市园林绿化局", "Parks and Greening Bureau", "公园管理处"),
    ("JJ", "西宁市公安局交通警察支队", "Traffic Police Detachment", "车驾管服务站"),
];

const PLACES: [&str; 40] = [
    "八一路",
    "东关",
    "清真巷",
    "大众街",
    "周家泉",
    "火车站",
    "乐家湾",
    "韵家口",
    "林家崖",
    "富强巷",
    "人民街",
    "南滩",
    "仓门街",
    "礼让街",
    "饮马街",
    "南川",
    "总寨",
    "虎台",
    "西关",
    "古城台",
    "兴海路",
    "胜利路",
    "文汇路",
    "彭家寨",
    "马坊",
    "小桥",
    "朝阳",
    "二十里铺",
    "大堡子",
    "廿里铺",
    "多巴",
    "鲁沙尔",
    "上新庄",
    "田家寨",
    "桥头",
    "长宁",
    "城关",
    "大华",
    "和平",
    "新宁",
];

const SECTORS: [&str; 6] = ["", "东", "西", "南", "北", "新区"];

const WINDOW_SERVICES: [&str; 10] =
    ["综合受理", "咨询导办", "证件办理", "缴费", "社保医保", "不动产登记", "企业开办", "出件", "帮办代办", "办不成事"];

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "马", "韩", "祁", "鲁", "朱", "何", "郭", "罗", "冶",
    "拉", "才", "索", "孙", "徐",
];
const GIVEN: [&str; 30] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
    "平", "刚", "桂英", "建华", "海燕", "文", "卓玛", "国庆", "晓东", "玉兰", "志强",
];
const POSITIONS: [&str; 4] = ["窗口工作人员", "综合受理员", "业务骨干", "值班负责人"];

fn code(s: &str) -> Result<OrgCode, DemoError> {
    OrgCode::parse(s).map_err(|e| DemoError::Invalid(format!("{s}: {}", e.0)))
}

fn node(
    c: &str,
    parent: Option<&str>,
    kind: OrgKind,
    name: String,
    name_en: Option<String>,
) -> Result<OrgRecord, DemoError> {
    Ok(OrgRecord { code: code(c)?, parent: parent.map(code).transpose()?, kind, name, name_en, address: None })
}

fn person(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN))
}

/// The demo tree and its staff, generated in memory.
fn generate(units: usize) -> Result<(Vec<OrgRecord>, Vec<StaffRecord>), DemoError> {
    let mut rng = Rng(20_211_001);
    let mut nodes = vec![node(ROOT, None, OrgKind::Region, "西宁市".into(), Some("Xining".into()))?];
    let mut departments: Vec<(String, String, &str)> = Vec::new();
    for (rc, name, en) in REGIONS {
        let region = format!("{ROOT}-{rc}");
        nodes.push(node(&region, Some(ROOT), OrgKind::Region, name.into(), Some(en.into()))?);
        for (dc, dname, den, unit_type) in DISTRICT_DEPARTMENTS {
            let dept = format!("{region}-{dc}");
            nodes.push(node(
                &dept,
                Some(&region),
                OrgKind::Department,
                format!("{name}{dname}"),
                Some(format!("{en} {den}")),
            )?);
            departments.push((dept, name.to_owned(), unit_type));
        }
    }
    for (dc, dname, den, unit_type) in CITY_DEPARTMENTS {
        let dept = format!("{ROOT}-{dc}");
        nodes.push(node(&dept, Some(ROOT), OrgKind::Department, dname.into(), Some(den.into()))?);
        departments.push((dept, "西宁市".to_owned(), unit_type));
    }

    // The industrial parks' management committees, directly under the city (no service units
    // below them: their desks serve firms, see `demo_enterprise`).
    for (pc, pname, pen) in crate::demo_enterprise::PARKS {
        nodes.push(node(pc, Some(ROOT), OrgKind::Department, pname.into(), Some(pen.into()))?);
    }

    let mut staff = Vec::new();
    let mut per_dept: HashMap<usize, usize> = HashMap::new();
    for i in 0..units {
        let d = i % departments.len();
        let k = *per_dept.entry(d).and_modify(|k| *k += 1).or_insert(0);
        let (dept, place_prefix, unit_type) = &departments[d];
        let unit = format!("{dept}-{:03}", k + 1);
        let place = PLACES[k % PLACES.len()];
        let sector = SECTORS[(k / PLACES.len()) % SECTORS.len()];
        let round = k / (PLACES.len() * SECTORS.len());
        let suffix = if round > 0 { format!("（{}）", round + 1) } else { String::new() };
        let name = format!("{place_prefix}{place}{sector}{unit_type}{suffix}");
        nodes.push(node(&unit, Some(dept), OrgKind::Unit, name, None)?);
        let windows = 1 + rng.below(4);
        for w in 1..=windows {
            let window = format!("{unit}-W{w}");
            let service = if w == windows && windows == 4 { "办不成事" } else { WINDOW_SERVICES[(w - 1 + k) % 9] };
            nodes.push(node(
                &window,
                Some(&unit),
                OrgKind::Window,
                format!("{w}号窗口（{service}）"),
                Some(format!("Window {w}")),
            )?);
            for _ in 0..(1 + rng.below(2)) {
                let no = format!("S{:06}", staff.len() + 1);
                staff.push(StaffRecord {
                    staff_no: StaffNo::parse(&no).map_err(|e| DemoError::Invalid(e.0))?,
                    org_code: code(&window)?,
                    name: person(&mut rng),
                    position: Some(rng.pick(&POSITIONS).to_owned()),
                });
            }
        }
    }
    Ok((nodes, staff))
}

/// The demo users: username, display name, role, scope.
fn demo_users() -> Vec<(String, String, Role, String)> {
    let first_unit = format!("{ROOT}-CD-GA-001");
    let mut out = vec![
        ("admin".into(), "系统管理员".into(), Role::Admin, ROOT.into()),
        ("supervisor".into(), "营商环境监督局 督查员".into(), Role::Supervisor, ROOT.into()),
    ];
    for t in 1..=10 {
        out.push((
            format!("inspector{t:02}"),
            format!("第{}作风巡查组 组长", chinese_number(t)),
            Role::Inspector,
            team_station(t),
        ));
    }
    out.push(("unithead".into(), "城东区八一路派出所 所长".into(), Role::UnitHead, first_unit.clone()));
    out.push(("staff".into(), "城东区八一路派出所 1号窗口".into(), Role::Staff, format!("{first_unit}-W1")));
    out.push(("enterprise".into(), "青海高原光伏科技有限公司".into(), Role::Enterprise, format!("{ROOT}-CD")));
    out.push(("enterprise2".into(), "青海康源药业有限公司".into(), Role::Enterprise, ROOT.into()));
    out.push(("cadre".into(), "南川工业园区管委会 项目管家".into(), Role::UnitHead, "XN-NCYQ".into()));
    out
}

/// The first subtree team `t` (1–10) is stationed in: teams 1–7 one district each, 8–10 the
/// city-level departments.
fn team_station(t: usize) -> String {
    match t {
        1..=7 => format!("{ROOT}-{}", REGIONS[t - 1].0),
        8 => format!("{ROOT}-GS"),
        9 => format!("{ROOT}-YL"),
        _ => format!("{ROOT}-GJJ"),
    }
}

fn team_stations(t: usize) -> Vec<String> {
    let mut s = vec![team_station(t)];
    match t {
        8 => s.push(format!("{ROOT}-GD")),
        9 => s.push(format!("{ROOT}-JJ")),
        _ => {}
    }
    s
}

fn chinese_number(n: usize) -> &'static str {
    ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"].get(n).copied().unwrap_or("十")
}

fn bar(progress: bool, len: u64, msg: &'static str) -> ProgressBar {
    let pb = if progress { ProgressBar::new(len) } else { ProgressBar::hidden() };
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(msg);
    pb
}

/// Loads the demo city into `store` unless its root is already there. Deterministic: the
/// same options always give the same city.
pub async fn load(store: &Store, opts: DemoOptions) -> Result<DemoSummary, DemoError> {
    let root = code(ROOT)?;
    if org::get(store, &root).await?.is_some() {
        let users = demo_users().into_iter().map(|(u, _, r, s)| (u, r, s)).collect();
        return Ok(DemoSummary { already_loaded: true, users, ..Default::default() });
    }
    let actor = Actor { name: "demo".into(), client_addr: String::new() };
    let (nodes, staff) = generate(opts.units)?;
    let mut summary = DemoSummary { nodes: nodes.len(), staff: staff.len(), ..Default::default() };

    let pb = bar(opts.progress, 4, "org tree");
    let mut tx = store.write().await?;
    let existing = org::load_tree(&mut tx).await?;
    let rows = nodes.into_iter().enumerate().map(|(i, n)| (i + 2, n)).collect();
    let plan = plan_org_import(&existing, rows).map_err(|e| DemoError::Invalid(format!("{e:?}")))?;
    pb.inc(1);
    org::apply_import(&mut tx, &existing, plan, &actor, "demo").await?;
    pb.inc(1);
    let kinds = org::load_kinds(&mut tx).await?;
    let rows = staff.into_iter().enumerate().map(|(i, s)| (i + 2, s)).collect();
    let plan = plan_staff_import(&kinds, &HashMap::new(), rows).map_err(|e| DemoError::Invalid(format!("{e:?}")))?;
    pb.inc(1);
    org::apply_staff_import(&mut tx, plan, &actor, "demo").await?;
    pb.inc(1);
    pb.finish_and_clear();

    let specs = demo_users();
    let pb = bar(opts.progress, specs.len() as u64, "users");
    let password = NewPassword::parse(DEMO_PASSWORD).map_err(|e| DemoError::Invalid(e.0))?;
    let mut user_ids = HashMap::new();
    for (username, display_name, role, scope) in specs {
        let p = password.clone();
        let password_hash = tokio::task::spawn_blocking(move || users::hash_password(&p))
            .await
            .map_err(|e| DemoError::Invalid(e.to_string()))?
            .map_err(DemoError::Invalid)?;
        let mut scopes = vec![code(&scope)?];
        if let Some(t) = username.strip_prefix("inspector").and_then(|n| n.parse::<usize>().ok()) {
            scopes = team_stations(t).iter().map(|s| code(s)).collect::<Result<_, _>>()?;
        }
        let new = NewUser {
            username: Username::parse(&username).map_err(|e| DemoError::Invalid(e.0))?,
            display_name,
            role,
            scopes,
            password_hash,
            email: None,
        };
        let user = users::create(&mut tx, &new, &actor).await.map_err(|e| DemoError::Invalid(e.to_string()))?;
        user_ids.insert(username.clone(), user.id);
        summary.users.push((username, role, scope));
        pb.inc(1);
    }
    pb.finish_and_clear();

    let mut rng = Rng(51);
    let mut members_total = 0;
    for t in 1..=10 {
        let mut members =
            vec![(person(&mut rng), "组长".to_owned(), user_ids.get(&format!("inspector{t:02}")).cloned())];
        members.push((person(&mut rng), "副组长".to_owned(), None));
        for _ in 0..(3 + t % 2) {
            members.push((person(&mut rng), "组员".to_owned(), None));
        }
        members_total += members.len();
        let team = NewTeam {
            code: format!("XCZ{t:02}"),
            name: format!("第{}作风巡查组", chinese_number(t)),
            members,
            stations: team_stations(t).iter().map(|s| code(s)).collect::<Result<_, _>>()?,
        };
        teams::create(&mut tx, &team, &actor).await?;
    }
    summary.teams = (10, members_total);
    tx.commit().await.map_err(StoreError::from)?;

    // The city rates 满意/不满意; 城西区 pilots the five-level national scale with two extra reasons.
    ratings::set_settings(store, ROOT, &RatingSettings::default(), &actor).await?;
    let five = RatingSettings {
        scale: Scale::Five,
        extra_reasons: vec![
            ReasonDef { code: "slow".into(), zh: "办事效率低".into(), en: "Slow service".into() },
            ReasonDef {
                code: "many_trips".into(), zh: "多次跑腿".into(), en: "Had to come back many times".into()
            },
        ],
        default_level: Some(4),
        default_after_days: Some(7),
    };
    ratings::set_settings(store, &format!("{ROOT}-CX"), &five, &actor).await?;
    let keys = rating_codes::ensure_key(store).await?;
    if let Some(key) = keys.last() {
        summary.codes = rating_codes::issue_missing_codes(store, key, &root, &actor).await?;
    }
    crate::demo_enterprise::base(store).await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_city_has_the_documented_shape() {
        let (nodes, staff) = generate(3200).unwrap_or_else(|e| panic!("{e}"));
        let count = |k| nodes.iter().filter(|n| n.kind == k).count();
        assert_eq!(count(OrgKind::Region), 8, "the city and its 7 districts and counties");
        assert_eq!(count(OrgKind::Department), 44, "40 departments and 4 parks");
        assert_eq!(count(OrgKind::Unit), 3200);
        assert!(count(OrgKind::Window) >= 3200);
        assert!(staff.len() >= count(OrgKind::Window));
    }

    #[test]
    fn the_demo_city_is_the_same_every_time() {
        let a = generate(100).unwrap_or_else(|e| panic!("{e}"));
        let b = generate(100).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a, b);
    }

    #[test]
    fn every_demo_role_has_a_user() {
        let users = demo_users();
        for role in Role::ALL {
            assert!(users.iter().any(|u| u.2 == role), "{role} has no demo user");
        }
    }
}
