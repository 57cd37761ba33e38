#include "gridwatch/classify/sample.h"

#include <random>
#include <string>

#include <fmt/format.h>

namespace gridwatch::classify {
namespace {

struct Phrases {
  const char* code;
  std::vector<const char*> problems;
};

const std::vector<Phrases>& phrases() {
  static const std::vector<Phrases> all = {
      {"sanitation.bin_overflow",
       {"垃圾桶满了没人清理", "垃圾箱溢出来了", "垃圾桶已经满溢好几天", "垃圾桶装不下了，垃圾散落一地", "分类垃圾桶爆满没人清运"}},
      {"sanitation.dumped_waste",
       {"有人乱倒建筑垃圾", "路边堆了很多装修垃圾", "乱扔垃圾无人管", "绿化带里被倾倒了大量生活垃圾", "空地上堆满了废弃家具"}},
      {"traffic.illegal_parking",
       {"车辆乱停乱放堵住路口", "有车违停在人行道上", "门口长期停着一辆车挡住出入", "机动车占用非机动车道停车", "僵尸车停了半年没人管"}},
      {"traffic.bike_clutter",
       {"共享单车乱停放堵住人行道", "大量共享单车堆在地铁口", "单车倒了一地无人管理", "共享单车占满了盲道", "电动自行车乱停乱放"}},
      {"fire.blocked_lane",
       {"消防通道被车辆占用", "消防车道堆满杂物", "消防通道被私家车堵死", "楼道里堆放杂物堵塞安全出口", "消防通道上搭了棚子"}},
      {"water.waterlogging",
       {"下雨后路面积水严重", "桥下积水很深车辆无法通行", "雨水篦子堵塞导致积水", "路口积水没过脚踝", "一下雨就积水行人没法走"}},
      {"utilities.manhole_cover",
       {"井盖缺失很危险", "路中间的井盖破损塌陷", "井盖松动车辆经过响声很大", "人行道上的井盖不见了", "雨水井盖被压碎了"}},
      {"environment.noise",
       {"施工噪音太大影响休息", "夜间施工扰民", "广场舞音响声音太大", "楼下商铺喇叭噪声扰民", "酒吧深夜音乐太吵"}},
      {"environment.odor",
       {"垃圾站臭味熏人", "餐馆油烟味很大", "工厂排放刺鼻气味", "下水道散发恶臭", "烧烤店烟味呛人"}},
      {"utilities.heating",
       {"暖气不热室温只有十几度", "家里暖气片冰凉", "供暖温度不达标", "暖气漏水而且不热", "供热公司一直没来修暖气"}},
      {"general.other",
       {"咨询社保卡补办流程", "询问公积金提取政策", "反映物业服务态度差", "咨询户口迁移手续", "询问老年卡怎么办理"}},
  };
  return all;
}

const std::vector<const char*> kPlaces = {"", "我家小区门口", "西直门桥下", "和平里街道", "小区{}号楼前", "地铁站出口",
                                          "学校旁边", "菜市场附近", "{}路口"};
const std::vector<const char*> kClosings = {"", "请尽快处理。", "已经好几天了，希望有关部门管一管。",
                                            "联系电话138{:08d}。", "多次反映都没有解决。", "影响居民生活。"};

}  // namespace

std::vector<Example> sample_tickets(size_t per_category, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::vector<Example> out;
  for (const auto& p : phrases()) {
    for (size_t i = 0; i < per_category; ++i) {
      const int number = int(pick(90) + 1);
      const std::string place = fmt::format(fmt::runtime(kPlaces[pick(kPlaces.size())]), number);
      const std::string closing =
          fmt::format(fmt::runtime(kClosings[pick(kClosings.size())]), int(pick(100000000)));
      out.push_back({fmt::format("{}{}，{}", place, p.problems[pick(p.problems.size())], closing), p.code});
    }
  }
  return out;
}

}  // namespace gridwatch::classify
