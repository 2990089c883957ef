"""The demo company's hand-written tables: regions, area cities, names, shop words, catalog.

This is demo data, not reference data: the city-centre coordinates are approximate and the
district lists name the core urban districts a 15 km circle around each centre touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

COMPANY_NAME = "精耕食品有限公司"
COMPANY_NAME_EN = "Jinggeng Foods Co., Ltd."


@dataclass(frozen=True)
class RegionSpec:
    slug: str
    name: str
    name_en: str


@dataclass(frozen=True)
class CitySpec:
    slug: str  # pinyin, used in codes and demo usernames (am_shanghai)
    name: str  # 上海
    region: str  # RegionSpec.slug
    city_code: str  # GB/T 2260 code of the prefecture-level city (municipalities: 市辖区)
    lat: float
    lon: float
    weight: float  # share of the company's outlets
    districts: tuple[str, ...]


REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("east", "华东大区", "East China"),
    RegionSpec("south", "华南大区", "South China"),
    RegionSpec("north", "华北大区", "North China"),
    RegionSpec("central", "华中大区", "Central China"),
    RegionSpec("southwest", "西南大区", "Southwest China"),
    RegionSpec("northwest", "西北大区", "Northwest China"),
    RegionSpec("northeast", "东北大区", "Northeast China"),
)

CITIES: tuple[CitySpec, ...] = (
    CitySpec(
        "shanghai",
        "上海",
        "east",
        "310100",
        31.2304,
        121.4737,
        2.0,
        ("黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区", "浦东新区", "宝山区"),
    ),
    CitySpec(
        "hangzhou",
        "杭州",
        "east",
        "330100",
        30.2741,
        120.1551,
        1.4,
        ("上城区", "拱墅区", "西湖区", "滨江区", "余杭区", "萧山区"),
    ),
    CitySpec(
        "nanjing",
        "南京",
        "east",
        "320100",
        32.0603,
        118.7969,
        1.3,
        ("玄武区", "秦淮区", "建邺区", "鼓楼区", "栖霞区", "雨花台区", "江宁区"),
    ),
    CitySpec(
        "suzhou", "苏州", "east", "320500", 31.2990, 120.5853, 1.3, ("姑苏区", "虎丘区", "吴中区", "相城区", "吴江区")
    ),
    CitySpec(
        "ningbo", "宁波", "east", "330200", 29.8683, 121.5440, 1.0, ("海曙区", "江北区", "北仑区", "镇海区", "鄞州区")
    ),
    CitySpec("hefei", "合肥", "east", "340100", 31.8206, 117.2272, 1.0, ("瑶海区", "庐阳区", "蜀山区", "包河区")),
    CitySpec(
        "jinan", "济南", "east", "370100", 36.6512, 117.1201, 1.0, ("历下区", "市中区", "槐荫区", "天桥区", "历城区")
    ),
    CitySpec(
        "guangzhou",
        "广州",
        "south",
        "440100",
        23.1291,
        113.2644,
        1.8,
        ("荔湾区", "越秀区", "海珠区", "天河区", "白云区", "番禺区"),
    ),
    CitySpec(
        "shenzhen",
        "深圳",
        "south",
        "440300",
        22.5431,
        114.0579,
        1.7,
        ("罗湖区", "福田区", "南山区", "宝安区", "龙岗区", "龙华区"),
    ),
    CitySpec("foshan", "佛山", "south", "440600", 23.0215, 113.1214, 1.0, ("禅城区", "南海区", "顺德区")),
    CitySpec("xiamen", "厦门", "south", "350200", 24.4798, 118.0894, 0.8, ("思明区", "湖里区", "集美区", "海沧区")),
    CitySpec("nanning", "南宁", "south", "450100", 22.8170, 108.3665, 0.7, ("兴宁区", "青秀区", "江南区", "西乡塘区")),
    CitySpec(
        "beijing",
        "北京",
        "north",
        "110100",
        39.9042,
        116.4074,
        2.0,
        ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区"),
    ),
    CitySpec(
        "tianjin",
        "天津",
        "north",
        "120100",
        39.3434,
        117.3616,
        1.3,
        ("和平区", "河东区", "河西区", "南开区", "河北区", "红桥区"),
    ),
    CitySpec(
        "shijiazhuang", "石家庄", "north", "130100", 38.0428, 114.5149, 0.8, ("长安区", "桥西区", "新华区", "裕华区")
    ),
    CitySpec(
        "taiyuan", "太原", "north", "140100", 37.8706, 112.5489, 0.7, ("小店区", "迎泽区", "杏花岭区", "万柏林区")
    ),
    CitySpec(
        "wuhan",
        "武汉",
        "central",
        "420100",
        30.5928,
        114.3055,
        1.4,
        ("江岸区", "江汉区", "硚口区", "汉阳区", "武昌区", "洪山区"),
    ),
    CitySpec(
        "changsha",
        "长沙",
        "central",
        "430100",
        28.2282,
        112.9388,
        1.1,
        ("芙蓉区", "天心区", "岳麓区", "开福区", "雨花区"),
    ),
    CitySpec(
        "zhengzhou",
        "郑州",
        "central",
        "410100",
        34.7466,
        113.6254,
        1.1,
        ("中原区", "二七区", "管城回族区", "金水区", "惠济区"),
    ),
    CitySpec(
        "nanchang", "南昌", "central", "360100", 28.6820, 115.8579, 0.8, ("东湖区", "西湖区", "青云谱区", "青山湖区")
    ),
    CitySpec(
        "chengdu",
        "成都",
        "southwest",
        "510100",
        30.5728,
        104.0668,
        1.5,
        ("锦江区", "青羊区", "金牛区", "武侯区", "成华区"),
    ),
    CitySpec(
        "chongqing",
        "重庆",
        "southwest",
        "500100",
        29.5630,
        106.5516,
        1.5,
        ("渝中区", "江北区", "沙坪坝区", "九龙坡区", "南岸区", "渝北区"),
    ),
    CitySpec(
        "kunming", "昆明", "southwest", "530100", 25.0389, 102.7183, 0.8, ("五华区", "盘龙区", "官渡区", "西山区")
    ),
    CitySpec(
        "guiyang", "贵阳", "southwest", "520100", 26.6470, 106.6302, 0.7, ("南明区", "云岩区", "观山湖区", "花溪区")
    ),
    CitySpec(
        "xian",
        "西安",
        "northwest",
        "610100",
        34.3416,
        108.9398,
        1.2,
        ("新城区", "碑林区", "莲湖区", "雁塔区", "未央区"),
    ),
    CitySpec(
        "lanzhou", "兰州", "northwest", "620100", 36.0611, 103.8343, 0.6, ("城关区", "七里河区", "西固区", "安宁区")
    ),
    CitySpec(
        "urumqi",
        "乌鲁木齐",
        "northwest",
        "650100",
        43.8256,
        87.6168,
        0.6,
        ("天山区", "沙依巴克区", "新市区", "水磨沟区"),
    ),
    CitySpec(
        "shenyang",
        "沈阳",
        "northeast",
        "210100",
        41.8057,
        123.4315,
        1.0,
        ("和平区", "沈河区", "大东区", "皇姑区", "铁西区"),
    ),
    CitySpec(
        "changchun",
        "长春",
        "northeast",
        "220100",
        43.8171,
        125.3235,
        0.8,
        ("南关区", "宽城区", "朝阳区", "二道区", "绿园区"),
    ),
    CitySpec(
        "harbin", "哈尔滨", "northeast", "230100", 45.8038, 126.5350, 0.9, ("道里区", "南岗区", "道外区", "香坊区")
    ),
)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建华文辉红玉兰志强晓东海燕春梅国庆鹏飞丹宇浩然"
    "婷雪琳晨阳思远子涵欣怡佳琪雨轩梓萱俊杰天宇博文嘉怡晓峰立新永刚德华云龙金凤淑珍慧玲振国玉梅宏伟"
)

SHOP_WORDS = (
    "惠民",
    "鑫源",
    "好又多",
    "家家乐",
    "福满多",
    "金福",
    "万家福",
    "兴隆",
    "佳佳",
    "利民",
    "百姓",
    "永安",
    "顺发",
    "华联",
    "天天",
    "乐购",
    "宏达",
    "恒信",
    "聚福",
    "吉祥",
    "多多",
    "益民",
    "新佳宜",
    "好邻居",
    "联华",
    "快客",
    "金盛",
    "东升",
    "长青",
    "富华",
    "和顺",
    "旺达",
    "盛世",
    "康乐",
    "美佳",
    "优品",
    "便民",
    "邻里",
    "国泰",
    "众诚",
    "信达",
    "祥和",
    "百顺",
    "如意",
    "金鹏",
    "春晖",
    "德福",
    "全家福",
    "好运来",
    "鸿运",
    "瑞丰",
    "四季",
    "万隆",
    "嘉禾",
    "友谊",
    "诚信",
    "阳光",
    "金桥",
    "星光",
    "大众",
    "开心",
    "喜洋洋",
    "金港",
    "惠丰",
    "鑫隆",
    "家和",
    "乐万家",
    "新华",
    "海鑫",
    "昌盛",
    "裕丰",
    "宏福",
    "仁和",
    "百汇",
    "天润",
    "福源",
    "金利来",
    "文华",
    "明珠",
)
ROADS = (
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "新华路",
    "胜利路",
    "文化路",
    "光明路",
    "朝阳路",
    "青年路",
    "长江路",
    "黄河路",
    "南京路",
    "北京路",
    "延安路",
    "健康路",
    "幸福路",
    "团结路",
    "工农路",
    "友谊路",
    "复兴路",
    "民主路",
    "东风路",
    "育才路",
    "学府路",
    "滨江路",
    "湖滨路",
    "振兴路",
    "迎宾路",
    "中华路",
    "府前街",
    "东大街",
    "西大街",
    "南大街",
    "北大街",
    "花园路",
    "公园路",
    "体育路",
    "金融街",
    "科技路",
    "创业路",
    "开元路",
    "紫荆路",
    "桂花路",
    "玉兰路",
    "丁香路",
    "枫林路",
    "梧桐路",
)

HYPERMARKET_CHAINS = ("华润万家", "永辉超市", "大润发", "沃尔玛", "家乐福", "物美", "联华超市", "步步高", "人人乐")
CONVENIENCE_CHAINS = ("美宜佳", "罗森", "全家", "7-Eleven", "快客便利", "好德便利", "唐久便利", "红旗连锁")

# channel code -> (weight among outlets, name suffixes)
OUTLET_CHANNELS: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("hypermarket", 2, ()),
    ("supermarket", 12, ("超市", "购物中心", "生活超市", "平价超市")),
    ("convenience", 26, ("便利店", "便利超市", "24小时便利店")),
    ("grocery", 34, ("食杂店", "商店", "小卖部", "烟酒店", "副食店")),
    ("restaurant", 14, ("饭店", "餐馆", "酒家", "面馆", "火锅店", "小吃店")),
    ("school", 4, ()),
    ("internet_cafe", 4, ("网吧", "网咖", "电竞馆")),
    ("ecommerce", 4, ("网店", "社区团购", "电商旗舰店")),
)
SCHOOL_KINDS = ("实验小学", "第一中学", "外国语学校", "职业技术学院", "师范学院", "第二中学", "育才中学")

CONTACT_ROLES_SHOP = ("老板", "老板娘", "店长", "收银主管")
CONTACT_ROLES_TRADE = ("总经理", "采购经理", "财务", "仓库主管", "业务经理")

TAGS = ("重点客户", "新开户", "样板店")

# Custom fields: (key, label, label_en, account_type, field_type, choices)
CUSTOM_FIELDS: tuple[tuple[str, str, str, str, str, list[str]], ...] = (
    ("business_area", "营业面积", "Floor area (m²)", "outlet", "number", []),
    ("freezer_count", "冷柜数量", "Freezers", "outlet", "number", []),
    ("store_type", "门店类型", "Store type", "outlet", "choice", ["社区店", "商圈店", "校园店", "交通枢纽店"]),
    ("warehouse_area", "仓库面积", "Warehouse area (m²)", "distributor", "number", []),
)

# Catalog --------------------------------------------------------------------------------------

# code, name, name_en, is_own, GS1 company prefix (after 69)
BRANDS: tuple[tuple[str, str, str, bool, str], ...] = (
    ("JG", "精耕", "Jinggeng", True, "21345"),
    ("TY", "田园", "Tianyuan", True, "21346"),
    ("QQ", "清泉", "Qingquan", True, "21347"),
    ("SQL", "山泉乐", "Shanquanle (competitor)", False, "30112"),
    ("HWL", "好味来", "Haoweilai (competitor)", False, "30578"),
)

# code, name, name_en, parent code
CATEGORIES: tuple[tuple[str, str, str, str], ...] = (
    ("BEV", "饮料", "Beverages", ""),
    ("BEV-WATER", "包装水", "Bottled water", "BEV"),
    ("BEV-JUICE", "果汁", "Juice", "BEV"),
    ("BEV-TEA", "茶饮料", "Tea drinks", "BEV"),
    ("BEV-SODA", "碳酸饮料", "Soft drinks", "BEV"),
    ("SNK", "休闲食品", "Snacks", ""),
    ("SNK-BISCUIT", "饼干", "Biscuits", "SNK"),
    ("SNK-NUT", "坚果", "Nuts", "SNK"),
    ("SNK-PUFF", "膨化食品", "Puffed snacks", "SNK"),
)


@dataclass(frozen=True)
class ProductSpec:
    brand: str
    category: str
    name: str
    name_en: str
    role: str
    status: str
    # spec, piece unit, pack unit, case unit, pieces/pack, packs/case, base price per piece
    skus: tuple[tuple[str, str, str, str, int, int, Decimal], ...]


def _bev(spec: str, per_pack: int, packs: int, price: str) -> tuple[str, str, str, str, int, int, Decimal]:
    return (spec, "瓶", "提", "箱", per_pack, packs, Decimal(price))


def _snack(spec: str, per_pack: int, packs: int, price: str) -> tuple[str, str, str, str, int, int, Decimal]:
    return (spec, "袋", "包", "箱", per_pack, packs, Decimal(price))


PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(
        "QQ",
        "BEV-WATER",
        "清泉饮用天然水",
        "Qingquan natural water",
        "main",
        "active",
        (
            _bev("550ml", 12, 2, "1.50"),
            _bev("380ml", 12, 2, "1.20"),
            _bev("1.5L", 6, 2, "3.00"),
            _bev("4L", 1, 6, "8.00"),
        ),
    ),
    ProductSpec(
        "QQ",
        "BEV-WATER",
        "清泉天然矿泉水",
        "Qingquan mineral water",
        "image",
        "active",
        (_bev("500ml", 12, 2, "2.50"), _bev("1L", 6, 2, "4.50")),
    ),
    ProductSpec(
        "QQ",
        "BEV-WATER",
        "清泉苏打水",
        "Qingquan soda water",
        "follower",
        "new",
        (_bev("350ml", 6, 4, "3.50"), _bev("500ml", 6, 4, "4.00")),
    ),
    ProductSpec(
        "TY",
        "BEV-JUICE",
        "田园橙汁",
        "Tianyuan orange juice",
        "main",
        "active",
        (_bev("300ml", 6, 4, "3.50"), _bev("1L", 6, 2, "9.00"), _bev("2L", 1, 6, "15.00")),
    ),
    ProductSpec(
        "TY",
        "BEV-JUICE",
        "田园苹果汁",
        "Tianyuan apple juice",
        "follower",
        "active",
        (_bev("300ml", 6, 4, "3.50"), _bev("1L", 6, 2, "9.00")),
    ),
    ProductSpec(
        "TY",
        "BEV-JUICE",
        "田园NFC鲜榨橙汁",
        "Tianyuan NFC orange juice",
        "image",
        "new",
        (_bev("250ml", 6, 2, "8.80"), _bev("900ml", 1, 6, "26.00")),
    ),
    ProductSpec(
        "TY",
        "BEV-JUICE",
        "田园山楂汁",
        "Tianyuan hawthorn juice",
        "follower",
        "phasing_out",
        (_bev("350ml", 6, 4, "3.00"),),
    ),
    ProductSpec(
        "JG",
        "BEV-TEA",
        "精耕冰红茶",
        "Jinggeng iced black tea",
        "main",
        "active",
        (_bev("500ml", 15, 1, "3.00"), _bev("1L", 6, 2, "5.00"), _bev("2L", 1, 6, "8.00")),
    ),
    ProductSpec(
        "JG",
        "BEV-TEA",
        "精耕绿茶",
        "Jinggeng green tea",
        "main",
        "active",
        (_bev("500ml", 15, 1, "3.00"), _bev("1L", 6, 2, "5.00")),
    ),
    ProductSpec(
        "JG",
        "BEV-TEA",
        "精耕茉莉蜜茶",
        "Jinggeng jasmine honey tea",
        "follower",
        "active",
        (_bev("500ml", 15, 1, "3.00"),),
    ),
    ProductSpec(
        "JG",
        "BEV-TEA",
        "精耕无糖乌龙茶",
        "Jinggeng sugar-free oolong",
        "image",
        "new",
        (_bev("500ml", 15, 1, "5.00"), _bev("900ml", 6, 2, "7.50")),
    ),
    ProductSpec(
        "JG",
        "BEV-SODA",
        "精耕柠檬汽水",
        "Jinggeng lemon soda",
        "follower",
        "active",
        (_bev("330ml", 6, 4, "2.50"), _bev("600ml", 12, 2, "3.50")),
    ),
    ProductSpec(
        "JG", "BEV-SODA", "精耕可乐", "Jinggeng cola", "follower", "discontinued", (_bev("330ml", 6, 4, "2.30"),)
    ),
    ProductSpec(
        "JG",
        "SNK-BISCUIT",
        "精耕苏打饼干",
        "Jinggeng soda crackers",
        "main",
        "active",
        (_snack("100g", 10, 2, "3.50"), _snack("400g", 1, 12, "12.80")),
    ),
    ProductSpec(
        "JG",
        "SNK-BISCUIT",
        "精耕全麦消化饼",
        "Jinggeng wholewheat digestives",
        "main",
        "active",
        (_snack("200g", 6, 3, "8.50"), _snack("500g", 1, 10, "19.90")),
    ),
    ProductSpec(
        "JG",
        "SNK-BISCUIT",
        "精耕夹心饼干",
        "Jinggeng sandwich cookies",
        "follower",
        "active",
        (_snack("90g", 12, 2, "3.00"), _snack("300g", 1, 16, "9.90")),
    ),
    ProductSpec(
        "JG",
        "SNK-BISCUIT",
        "精耕曲奇礼盒",
        "Jinggeng cookie gift box",
        "image",
        "active",
        (_snack("681g", 1, 6, "68.00"),),
    ),
    ProductSpec(
        "TY",
        "SNK-NUT",
        "田园每日坚果",
        "Tianyuan daily nuts",
        "image",
        "active",
        (_snack("25g", 30, 1, "4.50"), _snack("750g", 1, 8, "129.00")),
    ),
    ProductSpec(
        "TY",
        "SNK-NUT",
        "田园开心果",
        "Tianyuan pistachios",
        "main",
        "active",
        (_snack("150g", 1, 24, "25.80"), _snack("500g", 1, 12, "79.00")),
    ),
    ProductSpec(
        "TY", "SNK-NUT", "田园碧根果", "Tianyuan pecans", "follower", "active", (_snack("150g", 1, 24, "22.80"),)
    ),
    ProductSpec(
        "TY",
        "SNK-NUT",
        "田园瓜子",
        "Tianyuan sunflower seeds",
        "main",
        "active",
        (_snack("160g", 1, 30, "6.50"), _snack("500g", 1, 12, "16.80")),
    ),
    ProductSpec(
        "JG",
        "SNK-PUFF",
        "精耕薯片",
        "Jinggeng potato crisps",
        "main",
        "active",
        (_snack("70g", 1, 24, "6.50"), _snack("135g", 1, 16, "11.50")),
    ),
    ProductSpec(
        "JG",
        "SNK-PUFF",
        "精耕虾条",
        "Jinggeng prawn sticks",
        "follower",
        "phasing_out",
        (_snack("60g", 1, 40, "3.50"),),
    ),
    # Competitors: tracked for shelf share and prices.
    ProductSpec(
        "SQL",
        "BEV-WATER",
        "山泉乐天然水",
        "Shanquanle water",
        "main",
        "active",
        (_bev("550ml", 12, 2, "1.50"), _bev("1.5L", 6, 2, "3.00")),
    ),
    ProductSpec(
        "SQL", "BEV-TEA", "山泉乐冰茶", "Shanquanle iced tea", "main", "active", (_bev("500ml", 15, 1, "3.00"),)
    ),
    ProductSpec(
        "HWL",
        "SNK-BISCUIT",
        "好味来饼干",
        "Haoweilai biscuits",
        "main",
        "active",
        (_snack("100g", 10, 2, "3.20"), _snack("400g", 1, 12, "11.90")),
    ),
    ProductSpec("HWL", "SNK-PUFF", "好味来薯片", "Haoweilai crisps", "main", "active", (_snack("70g", 1, 24, "6.00"),)),
)
