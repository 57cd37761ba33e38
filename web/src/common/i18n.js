// Chinese and English: ?lang=zh|en, else the last choice, else the browser's language.
const dict = {
  zh: {
    title: '网格治理指挥中心', worker_title: '网格员', report_title: '一楼一码 · 随手报',
    login: '登录', token: '令牌', token_hint: '输入您的访问令牌', logout: '退出',
    filters: '筛选', category: '类别', state: '状态', source: '来源', overdue_only: '仅超时',
    proactive_only: '仅主动发现', hotline: '12345热线', camera: '摄像头', sensor: '传感器',
    open_cases: '未结案件', open_in_view: '视野内未结案件', live: '实时', offline: '离线', reconnecting: '重连中',
    city: '全市', period: '统计周期', days7: '近7天', days30: '近30天', days90: '近90天',
    cases: '案件数', response_rate: '响应率', resolution_rate: '解决率', satisfaction_rate: '满意率',
    proactive_share: '主动发现占比', density: '热力图', areas: '区域', layout: '布局',
    wall: '大屏', desk: '桌面', phone: '手机', close: '关闭', sources: '来源', timeline: '处置过程',
    tasks: '吹哨报到', actions: '操作', dispatch: '派单', summon: '吹哨', split: '拆分',
    suggested: '智能派单建议', dispatch_as: '按此派单', safety_word: '安全关键词，须人工处理',
    cancel: '取消', close_case: '结案', mark_duplicate: '标为重复', reopen: '再派件',
    accept: '签收', start: '开始处置', resolve: '办结', reject: '退单',
    unit: '单位', units: '单位（逗号分隔）', reason: '原因', note: '说明', photo: '照片',
    respond_due: '响应时限', resolve_due: '办结时限', remaining: '剩余', late: '已超时',
    clip: '视频片段', snapshot: '抓拍', readings: '读数', no_cases: '暂无案件',
    my_cases: '我的案件', nearest_first: '按距离排序', queued: '待发送（离线）', sent: '已发送',
    refused: '被拒绝', position_unknown: '位置未知', distance: '距离',
    building: '楼栋', describe: '问题描述', submit: '提交', optional: '可选', phone_no: '联系电话',
    submitted: '已受理', request_id: '受理编号', check_state: '查询进度', status: '状态',
    unknown_building: '未知楼栋编号', report_off: '本中心未开放扫码上报', my_requests: '我的上报',
    priority: '优先级', all: '全部', grid: '网格', error: '错误', loading: '加载中…',
    apply: '确定', send: '发送', select_sources: '选择要拆出的来源', verified: '传感器已核实',
    merge: '合并', merge_into: '并入案件编号', patrol: '网格员巡查', verify: '核查通过', refuse: '核查不通过',
    verification: '核查', verifier: '核查人', verify_due: '核查时限', dispatcher_verifies: '由派单员核查',
    report_problem: '巡查上报', report_sent: '已上报', photos: '照片（最多3张）', my_position: '当前位置',
    accuracy: '精度', coverage: '今日巡查覆盖', hotspots: '热点（近28天）', hot_cells: '热点网格', hexagon_edge: '六边形边长', intensifying: '加剧热点', persistent: '持续热点', anomalies: '今日异常', trend30: '近30天受理（阴影为近7天）', top_categories: '主要问题（近30天）', ranking: '街乡排名', ticker: '新案件', overdue_cases: '超期案件', tracks: '巡查轨迹', unvisited: '未巡查网格',
    own_work: '本人处置的案件由他人核查', photo_required: '核查需拍照', workers: '网格员', nearby_cases: '本网格附近已有案件', move_on_map: '在地图上调整位置', moved_on_map: '已在地图上调整',
  },
  en: {
    title: 'Grid governance control center', worker_title: 'Grid worker', report_title: 'Report a problem here',
    login: 'Log in', token: 'Token', token_hint: 'Your access token', logout: 'Log out',
    filters: 'Filters', category: 'Category', state: 'State', source: 'Source', overdue_only: 'Overdue only',
    proactive_only: 'Proactive only', hotline: 'Hotline', camera: 'Camera', sensor: 'Sensor',
    open_cases: 'Open cases', open_in_view: 'Open cases in view', live: 'Live', offline: 'Offline', reconnecting: 'Reconnecting',
    city: 'City', period: 'Period', days7: 'Last 7 days', days30: 'Last 30 days', days90: 'Last 90 days',
    cases: 'Cases', response_rate: 'Response rate', resolution_rate: 'Resolution rate',
    satisfaction_rate: 'Satisfaction rate', proactive_share: 'Proactive share', density: 'Density',
    areas: 'Areas', layout: 'Layout', wall: 'Wall', desk: 'Desk', phone: 'Phone', close: 'Close',
    sources: 'Sources', timeline: 'Timeline', tasks: 'Summoned units', actions: 'Actions',
    dispatch: 'Dispatch', summon: 'Summon', split: 'Split',
    suggested: 'Suggested category', dispatch_as: 'Dispatch as', safety_word: 'Safety word: a person decides', cancel: 'Cancel', close_case: 'Close',
    mark_duplicate: 'Mark duplicate', reopen: 'Reopen', accept: 'Accept', start: 'Start',
    resolve: 'Resolve', reject: 'Reject', unit: 'Unit', units: 'Units (comma-separated)',
    reason: 'Reason', note: 'Note', photo: 'Photo', respond_due: 'Respond by', resolve_due: 'Resolve by',
    remaining: 'left', late: 'overdue', clip: 'Video clip', snapshot: 'Snapshot', readings: 'Readings',
    no_cases: 'No cases', my_cases: 'My cases', nearest_first: 'Nearest first',
    queued: 'Queued (offline)', sent: 'Sent', refused: 'Refused', position_unknown: 'Position unknown',
    distance: 'Distance', building: 'Building', describe: 'What is wrong?', submit: 'Submit',
    optional: 'optional', phone_no: 'Phone', submitted: 'Received', request_id: 'Request number',
    check_state: 'Check progress', status: 'Status', unknown_building: 'Unknown building code',
    report_off: 'This center does not take reports from this page', my_requests: 'My reports',
    priority: 'Priority', all: 'All', grid: 'Grid', error: 'Error', loading: 'Loading…',
    apply: 'OK', send: 'Send', select_sources: 'Sources to move out', verified: 'Verified by sensor',
    merge: 'Merge', merge_into: 'Merge into case id', patrol: 'Patrol', verify: 'Verified: fixed',
    refuse: 'Not fixed', verification: 'Verification', verifier: 'Verifier', verify_due: 'Verify by',
    dispatcher_verifies: 'the dispatcher verifies', report_problem: 'Report a problem',
    report_sent: 'Reported', photos: 'Photos (up to 3)', my_position: 'My position', accuracy: 'accuracy',
    coverage: 'Patrol coverage today', hotspots: 'Hot spots (28 days)', hot_cells: 'Hot cells', hexagon_edge: 'Hexagon edge', intensifying: 'Intensifying', persistent: 'Persistent', anomalies: 'Unusual today', trend30: 'Cases, 30 days (last 7 shaded)', top_categories: 'Top problems (30 days)', ranking: 'Ranking', ticker: 'New cases', overdue_cases: 'Overdue', tracks: 'Patrol tracks', unvisited: 'Cells not yet visited',
    own_work: 'someone else verifies your own work', photo_required: 'a photo is required', workers: 'Grid workers',
    nearby_cases: 'Open cases of your grid nearby', move_on_map: 'Move the point on the map',
    moved_on_map: 'moved on the map',
  },
};

const states = {
  new: ['待派单', 'New'], dispatched: ['已派单', 'Dispatched'], accepted: ['已签收', 'Accepted'],
  in_progress: ['处置中', 'In progress'], resolved: ['已办结', 'Resolved'], closed: ['已结案', 'Closed'],
  rejected: ['已退单', 'Rejected'], reopened: ['再派件', 'Reopened'], cancelled: ['已取消', 'Cancelled'],
  duplicate: ['重复', 'Duplicate'], verifying: ['待核查', 'Verifying'],
};

export const STATES = Object.keys(states);

function initial() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q === 'zh' || q === 'en') return q;
  const saved = localStorage.getItem('gw.lang');
  if (saved === 'zh' || saved === 'en') return saved;
  return (navigator.language || 'zh').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

let current = initial();

export const lang = () => current;
export function setLang(l) {
  current = l;
  localStorage.setItem('gw.lang', l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}
export const t = (key) => dict[current][key] ?? key;
// A category's name in the page's language, from loadCatalog()'s map; the code when unknown.
export function categoryName(catalog, code) {
  const c = catalog.get(code);
  return c ? (current === 'zh' ? c.zh || c.en : c.en) : code;
}
export const stateName = (s) => (states[s] ? states[s][current === 'zh' ? 0 : 1] : s);
document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
