//! Chinese names for the synthetic subdistrict: streets, compounds, shops, units, organisations and
//! people, and phone numbers that cannot be dialled.
//!
//! Every name is drawn from the generator's seeded random source, so the same seed gives the same
//! names. Pools are plain slices; uniqueness, where a layer needs it, is kept by [`Unique`].

use std::collections::BTreeSet;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Words that name streets (and, through them, communities). None is used twice in one subdistrict.
pub(crate) const STREET_WORDS: &[&str] = &[
    "建设", "文化", "人民", "解放", "民主", "健康", "新华", "东风", "工农", "红旗", "胜利", "和平",
    "兴隆", "团结", "光明", "育才", "幸福", "友谊", "振兴", "书院", "顺河", "花园", "青年", "朝阳",
    "前进", "长青", "丰收", "学院", "纺织", "金桥", "迎宾", "商城", "德化", "大同", "太康", "福寿",
    "仁和", "永安", "安居", "平安", "双桥", "柳林", "杨柳", "槐树", "榆林", "桃园", "梨园", "杏花",
    "荷花", "菊园", "枣林", "石桥", "北关", "南关", "东关", "西关", "老城", "新村", "乐园", "同乐",
    "玉带", "银河", "环城", "嵩山", "中州", "豫兴", "华山", "太行", "百花", "牡丹", "月季", "紫荆",
    "兰亭", "翠竹", "松柏", "梧桐", "银杏", "政通", "康宁", "寿昌", "文明", "繁荣", "昌盛", "富强",
    "大学", "体育", "公园", "车站", "货栈", "粮仓", "磨坊", "染坊", "铁炉", "窑湾", "柴市", "菜市",
    "盐店", "钟楼", "鼓楼", "文庙", "魁星", "太平", "长乐", "永宁", "吉祥", "如意", "春晖", "秋实",
];

/// Words for residential compounds.
const COMPOUND_WORDS: &[&str] = &[
    "锦绣", "阳光", "金色", "翠竹", "香榭", "和谐", "怡景", "康桥", "丽景", "盛世", "书香", "水岸",
    "明珠", "御景", "华庭", "绿城", "春天", "福星", "鑫苑", "名门", "世纪", "东方", "金水", "紫金",
    "蓝天", "碧水", "凤凰", "金桂", "银桂", "佳和", "万福", "安泰", "祥和", "瑞祥", "泰和", "清华",
    "雅居", "润园", "馨苑", "金域", "滨江", "锦华", "龙祥", "天泽", "嘉禾", "兴业", "富康", "长城",
    "民安", "宏达", "美景", "新城", "翡翠", "玉泉", "金城", "利民", "荣华", "宜家", "望湖", "南湖",
];

const COMPOUND_SUFFIXES: &[&str] = &[
    "小区", "小区", "小区", "花园", "花园", "家园", "苑", "新村", "公寓", "嘉园", "雅苑", "名居",
];

/// Employers whose staff housing became a 家属院.
const EMPLOYERS: &[&str] = &[
    "纺织厂",
    "电业局",
    "粮食局",
    "第一中学",
    "市政公司",
    "机械厂",
    "棉纺厂",
    "印染厂",
    "自来水公司",
    "供销社",
    "交通局",
    "邮电局",
    "人民医院",
    "化肥厂",
    "面粉厂",
    "食品厂",
    "烟草公司",
    "建筑公司",
    "水利局",
    "气象局",
    "师范学校",
    "卫生局",
    "法院",
    "检察院",
    "农机站",
    "火柴厂",
    "酒厂",
    "汽运公司",
];

/// Property management companies (fictional).
const PROPERTY_COMPANIES: &[&str] = &[
    "锦程物业服务有限公司",
    "中原佳和物业服务有限公司",
    "安居物业管理有限公司",
    "豫发物业服务有限公司",
    "宏达物业服务有限公司",
    "家和物业管理有限公司",
    "恒通物业服务有限公司",
    "金诚物业服务有限公司",
    "润泽物业服务有限公司",
    "民安物业服务有限公司",
    "城投物业服务有限公司",
    "嘉园物业管理有限公司",
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "程", "曹", "袁",
    "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶",
    "阎", "余", "潘", "杜", "戴", "夏", "钟", "汪", "田", "任", "姜", "范", "方", "石", "姚", "谭",
];

const GIVEN_NAMES: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "霞", "平", "刚", "辉", "鹏", "华", "飞", "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊",
    "帆", "旭", "宁", "林", "欢", "阳", "峰", "亮", "婷", "雪", "琳", "晶", "颖", "倩", "慧", "燕",
    "秀英", "秀兰", "桂英", "建国", "建华", "建军", "红梅", "玉兰", "海燕", "丽华", "志强", "志刚",
    "国强", "国庆", "晓东", "晓燕", "春梅", "春花", "文静", "文杰", "子涵", "浩然", "雨涵", "欣怡",
    "一鸣", "嘉怡", "俊杰", "佳琪", "明轩", "思远", "晨阳", "立新", "卫东", "爱华", "淑珍", "凤英",
    "金凤", "瑞芳", "永刚", "学军", "振华", "新民", "少华", "丽娟", "红霞", "利民", "桂兰", "素梅",
];

/// Shop kinds: the category a shop is filed under and the words its name ends with.
const SHOP_KINDS: &[(&str, &[&str])] = &[
    ("超市便利", &["超市", "便利店", "便民超市", "生活超市"]),
    (
        "餐饮",
        &[
            "面馆",
            "烩面馆",
            "饺子馆",
            "包子铺",
            "快餐店",
            "火锅店",
            "烧烤店",
            "早餐店",
            "胡辣汤馆",
            "饭店",
            "小吃店",
            "蛋糕店",
            "奶茶店",
        ],
    ),
    (
        "零售",
        &[
            "水果店",
            "烟酒店",
            "五金店",
            "服装店",
            "鞋店",
            "母婴店",
            "文具店",
            "眼镜店",
            "花店",
            "茶叶店",
            "手机店",
            "粮油店",
            "建材店",
            "副食店",
        ],
    ),
    (
        "生活服务",
        &[
            "理发店",
            "美容美发",
            "干洗店",
            "图文打印",
            "开锁修锁",
            "家电维修",
            "照相馆",
            "足疗店",
            "洗车行",
            "房产中介",
            "快递代收点",
        ],
    ),
    ("医药", &["大药房", "诊所", "口腔诊所", "中医馆"]),
    ("教育培训", &["培训学校", "书店", "琴行", "托管班"]),
];

const SHOP_PREFIXES: &[&str] = &[
    "老王",
    "老李",
    "张记",
    "刘记",
    "鑫鑫",
    "好又多",
    "百家",
    "惠民",
    "家家乐",
    "万家",
    "金鑫",
    "旺旺",
    "四季",
    "阳光",
    "美佳",
    "佳佳",
    "诚信",
    "顺发",
    "福满",
    "聚源",
    "红星",
    "金福",
    "德顺",
    "天天",
    "大众",
    "平价",
    "邻里",
    "春雨",
    "小美",
    "新新",
    "小林",
    "阿强",
    "大刘",
    "二姐",
    "胖哥",
    "老街",
    "豫香",
    "中原",
    "同福",
    "益民",
    "康乐",
    "便民",
    "东方",
    "好运",
    "宏发",
    "丰源",
    "兴旺",
    "乐购",
];

/// Units with a campus of their own (a parcel): name, category.
pub(crate) const CAMPUS_UNITS: &[(&str, &str)] = &[
    ("第一小学", "学校"),
    ("第二小学", "学校"),
    ("第三小学", "学校"),
    ("第五小学", "学校"),
    ("实验小学", "学校"),
    ("第二中学", "学校"),
    ("第九中学", "学校"),
    ("实验中学", "学校"),
    ("区职业技术学校", "学校"),
    ("区实验幼儿园", "学校"),
    ("区人民医院", "医疗卫生"),
    ("区中医院", "医疗卫生"),
    ("区妇幼保健院", "医疗卫生"),
    ("区疾病预防控制中心", "医疗卫生"),
    ("街道办事处", "党政机关"),
    ("区政务服务中心", "党政机关"),
    ("区人民法院", "党政机关"),
    ("公安分局派出所", "党政机关"),
    ("区税务局", "党政机关"),
    ("区市场监督管理局", "党政机关"),
    ("区图书馆", "事业单位"),
    ("区文化馆", "事业单位"),
    ("区体育中心", "事业单位"),
    ("供电公司供电所", "国有企业"),
    ("区消防救援大队", "事业单位"),
];

const BANKS: &[&str] = &[
    "中国工商银行",
    "中国农业银行",
    "中国银行",
    "中国建设银行",
    "交通银行",
    "中国邮政储蓄银行",
    "农村商业银行",
];

const TELECOMS: &[&str] = &["中国移动", "中国联通", "中国电信"];

const INDUSTRIES: &[&str] = &[
    "科技",
    "物流",
    "建筑工程",
    "商贸",
    "餐饮管理",
    "房地产开发",
    "广告传媒",
    "电子商务",
    "医药",
    "教育咨询",
    "家政服务",
    "保安服务",
    "文化传媒",
    "食品",
    "印刷",
    "装饰工程",
    "网络科技",
    "汽车服务",
];

const COMPANY_WORDS: &[&str] = &[
    "华信", "豫通", "中原", "锦程", "鼎盛", "宏图", "恒信", "金达", "天成", "瑞丰", "盛达", "新业",
    "博远", "启航", "众诚", "德信", "远大", "同创", "佳禾", "鸿运", "汇通", "正阳", "永泰", "明德",
];

/// Social organisation kinds: name suffix, category.
const ORG_KINDS: &[(&str, &str)] = &[
    ("志愿服务协会", "志愿服务"),
    ("党员志愿服务队", "志愿服务"),
    ("巾帼志愿服务队", "志愿服务"),
    ("老年人协会", "养老服务"),
    ("居家养老服务中心", "养老服务"),
    ("书画协会", "文体活动"),
    ("广场舞队", "文体活动"),
    ("太极拳协会", "文体活动"),
    ("合唱团", "文体活动"),
    ("戏曲爱好者协会", "文体活动"),
    ("读书会", "文体活动"),
    ("象棋协会", "文体活动"),
    ("摄影协会", "文体活动"),
    ("邻里互助会", "社区事务"),
    ("红白理事会", "社区事务"),
    ("调解工作室", "社区事务"),
    ("慈善会", "公益慈善"),
    ("残疾人协会", "公益慈善"),
    ("社会工作服务站", "社会服务"),
    ("四点半课堂", "社会服务"),
    ("退役军人服务社", "社会服务"),
    ("健康促进会", "社会服务"),
];

/// Words for office buildings with a 商务楼宇 grid.
const TOWER_WORDS: &[&str] = &[
    "金源",
    "国贸",
    "华融",
    "新天地",
    "万博",
    "世纪",
    "财富",
    "盛世",
    "鼎盛",
    "汇金",
    "中原",
    "嘉禾",
    "金融",
    "科技",
    "天成",
    "恒丰",
    "鸿运",
    "信达",
    "裕华",
    "泰和",
    "丰源",
    "金鼎",
    "国际",
    "商务",
    "时代",
    "环球",
    "中州",
    "星河",
    "银座",
    "凯旋",
];

/// Services every community office lists, and the local specialities it adds.
pub(crate) const COMMUNITY_SERVICES: &str = "民政救助、社保医保、居家养老、矛盾调解、便民服务";
const COMMUNITY_SPECIALITIES: &[&str] = &[
    "四点半课堂",
    "老年食堂",
    "红色物业",
    "邻里节",
    "居民说事亭",
    "小区议事厅",
    "微心愿",
    "法律咨询",
    "健康义诊",
    "家政托管",
    "美丽楼道",
    "好人好报卡",
];

/// Services of a 便民驿站.
pub(crate) const STATION_SERVICES: &str = "代收快递、爱心饮水、应急充电、便民维修、休息避暑";

/// Names already given in one subdistrict, for layers whose names should not repeat.
#[derive(Debug, Default)]
pub(crate) struct Unique(BTreeSet<String>);

impl Unique {
    /// The first name `make` returns that is not taken yet (after 50 tries, `make`'s name with a
    /// number appended).
    pub fn pick(
        &mut self,
        rng: &mut ChaCha8Rng,
        mut make: impl FnMut(&mut ChaCha8Rng) -> String,
    ) -> String {
        let mut name = make(rng);
        let mut tries = 0;
        while self.0.contains(&name) {
            tries += 1;
            name = make(rng);
            if tries > 50 {
                let base = name.clone();
                let mut k = 2;
                while self.0.contains(&name) {
                    name = format!("{base}{k}");
                    k += 1;
                }
            }
        }
        self.0.insert(name.clone());
        name
    }
}

fn one<'a>(rng: &mut ChaCha8Rng, pool: &[&'a str]) -> &'a str {
    pool[rng.gen_range(0..pool.len())]
}

/// The street words in a random order, for naming the streets of one subdistrict.
pub(crate) fn shuffled_street_words(rng: &mut ChaCha8Rng) -> Vec<&'static str> {
    let mut words = STREET_WORDS.to_vec();
    words.shuffle(rng);
    words
}

/// A Chinese personal name.
pub(crate) fn person(rng: &mut ChaCha8Rng) -> String {
    format!("{}{}", one(rng, SURNAMES), one(rng, GIVEN_NAMES))
}

/// Numbers that look like phone numbers but cannot be dialled: mobile numbers start with 100 (no
/// mobile network uses it), landlines have a local number starting with 0.
#[derive(Debug, Default)]
pub(crate) struct Phones {
    next_mobile: u32,
    next_landline: u32,
}

impl Phones {
    pub fn mobile(&mut self) -> String {
        self.next_mobile += 1;
        let n = self.next_mobile;
        format!("100-{:04}-{:04}", n / 10_000, n % 10_000)
    }

    pub fn landline(&mut self, area_code: &str) -> String {
        self.next_landline += 1;
        let n = self.next_landline;
        format!("{area_code}-0{:03}-{:04}", n / 10_000, n % 10_000)
    }
}

/// A compound name: "xx小区", "xx花园", … or "xx家属院".
pub(crate) fn compound(rng: &mut ChaCha8Rng) -> String {
    if rng.gen_bool(0.15) {
        format!("{}家属院", one(rng, EMPLOYERS))
    } else {
        format!(
            "{}{}",
            one(rng, COMPOUND_WORDS),
            one(rng, COMPOUND_SUFFIXES)
        )
    }
}

/// The property company of a compound, or how it is managed without one.
pub(crate) fn property_company(rng: &mut ChaCha8Rng, staff_housing: bool) -> &'static str {
    let p = rng.gen_range(0.0..1.0);
    if p < if staff_housing { 0.5 } else { 0.1 } {
        "无物业（居民自管）"
    } else if p < if staff_housing { 0.75 } else { 0.18 } {
        "社区托管（红色物业）"
    } else {
        one(rng, PROPERTY_COMPANIES)
    }
}

/// A street shop: name and category.
pub(crate) fn shop(rng: &mut ChaCha8Rng, street: &str) -> (String, &'static str) {
    let (category, suffixes) = SHOP_KINDS[rng.gen_range(0..SHOP_KINDS.len())];
    let prefix = if rng.gen_bool(0.15) {
        street
    } else {
        one(rng, SHOP_PREFIXES)
    };
    (format!("{prefix}{}", one(rng, suffixes)), category)
}

/// A stationed unit without a campus of its own: name and category.
pub(crate) fn unit(
    rng: &mut ChaCha8Rng,
    street: &str,
    subdistrict: &str,
) -> (String, &'static str) {
    match rng.gen_range(0..10) {
        0 | 1 => (format!("{}{street}支行", one(rng, BANKS)), "金融机构"),
        2 => (format!("{}{street}营业厅", one(rng, TELECOMS)), "国有企业"),
        3 => (format!("{street}社区卫生服务站"), "医疗卫生"),
        4 => (format!("{}幼儿园", one(rng, COMPOUND_WORDS)), "学校"),
        5 => (
            format!("{}{}律师事务所", one(rng, COMPANY_WORDS), subdistrict),
            "社会服务机构",
        ),
        _ => (
            format!(
                "{}{}有限公司",
                one(rng, COMPANY_WORDS),
                one(rng, INDUSTRIES)
            ),
            "民营企业",
        ),
    }
}

/// A social organisation: name and category; `place` is a community, compound or street name.
pub(crate) fn social_org(rng: &mut ChaCha8Rng, place: &str) -> (String, &'static str) {
    let (suffix, category) = ORG_KINDS[rng.gen_range(0..ORG_KINDS.len())];
    (format!("{place}{suffix}"), category)
}

/// A 便民驿站 on `street`.
pub(crate) fn station(rng: &mut ChaCha8Rng, street: &str) -> String {
    const KINDS: &[&str] = &["", "暖心", "爱心", "红色", "邻里", "幸福", "惠民", "连心"];
    format!("{street}{}便民驿站", one(rng, KINDS))
}

/// A 商务楼宇 grid's building name: "xx大厦".
pub(crate) fn tower(rng: &mut ChaCha8Rng) -> String {
    format!("{}大厦", one(rng, TOWER_WORDS))
}

/// The services a community lists on its contact card.
pub(crate) fn community_services(rng: &mut ChaCha8Rng) -> String {
    let a = rng.gen_range(0..COMMUNITY_SPECIALITIES.len());
    let b = (a + rng.gen_range(1..COMMUNITY_SPECIALITIES.len())) % COMMUNITY_SPECIALITIES.len();
    format!(
        "{COMMUNITY_SERVICES}；特色服务：{}、{}",
        COMMUNITY_SPECIALITIES[a], COMMUNITY_SPECIALITIES[b]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn street_words_do_not_repeat() {
        let set: BTreeSet<_> = STREET_WORDS.iter().collect();
        assert_eq!(set.len(), STREET_WORDS.len());
    }

    #[test]
    fn unique_names_do_not_repeat_even_from_a_tiny_pool() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut u = Unique::default();
        let names: BTreeSet<String> = (0..5)
            .map(|_| u.pick(&mut rng, |_| "同名".into()))
            .collect();
        assert_eq!(names.len(), 5);
        assert!(names.contains("同名") && names.contains("同名5"));
    }

    #[test]
    fn phones_are_not_diallable() {
        let mut p = Phones::default();
        assert_eq!(p.mobile(), "100-0000-0001");
        assert_eq!(p.landline("0371"), "0371-0000-0001");
    }
}
