/**
 * The management layer's vocabulary (issue 13): ledger items and the budget item each counts
 * toward, subjects of costs and feedback, feedback categories, the default feedback services and
 * the scorecard's defaults — each with the Chinese and English label operators read.
 *
 * Defaults here are the product's choices, not published figures: where one is a target (the
 * scorecard's), it is an example an operator is asked to replace in the facility file.
 */
import type {
  BudgetItem,
  CostSettings,
  Facility,
  FeedbackService,
  Name,
  ScorecardIndicator,
  ScorecardPerspective,
} from '../facility/schema.ts';
import { SCORECARD_INDICATORS } from '../facility/schema.ts';

export { BUDGET_ITEMS, type BudgetItem } from '../facility/schema.ts';

/** What a cost in the ledger is for. */
export const LEDGER_ITEMS = [
  'maintenance',
  'repair',
  'tyres',
  'cleaning',
  'works',
  'propertyService',
  'other',
] as const;
export type LedgerItem = (typeof LEDGER_ITEMS)[number];

export const LEDGER_ITEM_LABELS: Readonly<Record<LedgerItem, Name>> = {
  maintenance: { zh: '维护保养', en: 'Maintenance' },
  repair: { zh: '维修', en: 'Repairs' },
  tyres: { zh: '轮胎', en: 'Tyres' },
  cleaning: { zh: '保洁', en: 'Cleaning' },
  works: { zh: '零星工程', en: 'One-off works' },
  propertyService: { zh: '物业服务', en: 'Property services' },
  other: { zh: '其他', en: 'Other' },
};

/** What a cost is booked to. */
export const SUBJECT_KINDS = ['vehicle', 'building', 'department', 'room'] as const;
export type SubjectKind = (typeof SUBJECT_KINDS)[number];

export const SUBJECT_KIND_LABELS: Readonly<Record<SubjectKind, Name>> = {
  vehicle: { zh: '车辆', en: 'Vehicle' },
  building: { zh: '楼宇', en: 'Building' },
  department: { zh: '部门', en: 'Department' },
  room: { zh: '房间', en: 'Room' },
};

export interface Subject {
  readonly kind: SubjectKind;
  readonly id: string;
}

export const BUDGET_ITEM_LABELS: Readonly<Record<BudgetItem, Name>> = {
  electricity: { zh: '电费', en: 'Electricity' },
  water: { zh: '水费', en: 'Water' },
  gas: { zh: '燃气费', en: 'Gas' },
  vehicleFuel: { zh: '车辆燃油及充电', en: 'Vehicle fuel and charging' },
  vehicleMaintenance: { zh: '车辆维修保养', en: 'Vehicle maintenance' },
  property: { zh: '物业及房屋维护', en: 'Property and upkeep' },
};

/**
 * The budget item a ledger entry counts toward: on a car, everything but `other` is vehicle
 * maintenance (maintenance, repairs, tyres…); on a building, room or department, everything but
 * `other` is property (upkeep, cleaning, works, property services). `other` counts toward no item.
 */
export function budgetItemOf(item: LedgerItem, subject: SubjectKind): BudgetItem | null {
  if (item === 'other') return null;
  return subject === 'vehicle' ? 'vehicleMaintenance' : 'property';
}

/** What occupants can say is wrong. The first three are comfort complaints, linked to the sensor. */
export const FEEDBACK_CATEGORIES = [
  'too-hot',
  'too-cold',
  'stuffy',
  'noisy',
  'dirty',
  'broken',
  'booking',
  'other',
] as const;
export type FeedbackCategory = (typeof FEEDBACK_CATEGORIES)[number];
export const COMFORT_CATEGORIES: readonly FeedbackCategory[] = ['too-hot', 'too-cold', 'stuffy'];

export const FEEDBACK_CATEGORY_LABELS: Readonly<Record<FeedbackCategory, Name>> = {
  'too-hot': { zh: '太热', en: 'Too hot' },
  'too-cold': { zh: '太冷', en: 'Too cold' },
  stuffy: { zh: '闷/空气差', en: 'Stuffy' },
  noisy: { zh: '吵', en: 'Noisy' },
  dirty: { zh: '不干净', en: 'Dirty' },
  broken: { zh: '设施损坏', en: 'Something broken' },
  booking: { zh: '预约问题', en: 'Booking' },
  other: { zh: '其他', en: 'Other' },
};

/** The services rated besides rooms when the facility file lists none. */
export const DEFAULT_FEEDBACK_SERVICES: readonly FeedbackService[] = [
  { id: 'canteen', name: { zh: '职工食堂', en: 'Canteen' } },
  { id: 'vehicle-pool', name: { zh: '公务用车服务', en: 'Vehicle pool' } },
  { id: 'meeting-booking', name: { zh: '会议室预约', en: 'Meeting-room booking' } },
  { id: 'property-service', name: { zh: '物业服务', en: 'Property service' } },
];

/** The facility's feedback services: the file's, or the defaults (less any that is a room id). */
export function feedbackServices(facility: Facility): readonly FeedbackService[] {
  if (facility.feedback?.services) return facility.feedback.services;
  const rooms = new Set(facility.rooms.map((r) => r.id));
  return DEFAULT_FEEDBACK_SERVICES.filter((s) => !rooms.has(s.id));
}

/** A feedback subject's page code: a room id or a service id (they never collide; checks.ts). */
export type FeedbackSubjectKind = 'room' | 'service';

export const DEFAULT_REPLACEMENT_MULTIPLE = 1.5;

export function costSettings(facility: Facility): Required<CostSettings> {
  return { replacementMultiple: facility.costs?.replacementMultiple ?? DEFAULT_REPLACEMENT_MULTIPLE };
}

/** How an indicator is scored: `lower` or `higher` is better; `budget`-based targets come from budgets. */
export interface IndicatorSpec {
  readonly perspective: ScorecardPerspective;
  readonly name: Name;
  readonly unit: string;
  readonly direction: 'lower' | 'higher';
  /** Targets from the department's budget (cost indicators): `zeroAt` is then a multiple of it. */
  readonly budgetBased: boolean;
  readonly weight: number;
  readonly target: number | null;
  readonly zeroAt: number;
}

/**
 * Default weight, target and zero point of every indicator. Targets are **examples** (labelled so
 * in the API and the report): each compound sets its own in `scorecard.indicators`.
 */
export const DEFAULT_INDICATORS: Readonly<Record<ScorecardIndicator, IndicatorSpec>> = {
  energyCostPerCapita: {
    perspective: 'cost',
    name: { zh: '人均能源费用', en: 'Energy cost per person' },
    unit: 'CNY/person',
    direction: 'lower',
    budgetBased: true,
    weight: 1,
    target: null,
    zeroAt: 1.5,
  },
  vehicleCostPerCapita: {
    perspective: 'cost',
    name: { zh: '人均车辆费用', en: 'Vehicle cost per person' },
    unit: 'CNY/person',
    direction: 'lower',
    budgetBased: true,
    weight: 1,
    target: null,
    zeroAt: 1.5,
  },
  quotaUsePercent: {
    perspective: 'process',
    name: { zh: '用电定额使用率', en: 'Electricity quota used' },
    unit: '%',
    direction: 'lower',
    budgetBased: false,
    weight: 1,
    target: 100,
    zeroAt: 130,
  },
  offHoursShare: {
    perspective: 'process',
    name: { zh: '非工作时间用电占比', en: 'Off-hours electricity share' },
    unit: '%',
    direction: 'lower',
    budgetBased: false,
    weight: 1,
    target: 30,
    zeroAt: 60,
  },
  conditionedEmptyHours: {
    perspective: 'process',
    name: { zh: '无人空调/照明时长（每间）', en: 'Conditioned-while-empty hours per room' },
    unit: 'h/room',
    direction: 'lower',
    budgetBased: false,
    weight: 1,
    target: 5,
    zeroAt: 40,
  },
  vehicleUtilization: {
    perspective: 'process',
    name: { zh: '车辆使用率', en: 'Vehicle utilisation' },
    unit: '%',
    direction: 'higher',
    budgetBased: false,
    weight: 1,
    target: 30,
    zeroAt: 5,
  },
  satisfactionScore: {
    perspective: 'service',
    name: { zh: '满意度评分', en: 'Satisfaction score' },
    unit: '1–5',
    direction: 'higher',
    budgetBased: false,
    weight: 2,
    target: 4.5,
    zeroAt: 2.5,
  },
  feedbackAnswers: {
    perspective: 'service',
    name: { zh: '评价份数', en: 'Feedback answers' },
    unit: 'answers',
    direction: 'higher',
    budgetBased: false,
    weight: 1,
    target: 20,
    zeroAt: 0,
  },
  yoyChangePercent: {
    perspective: 'improvement',
    name: { zh: '能耗同比变化', en: 'Energy change year on year' },
    unit: '%',
    direction: 'lower',
    budgetBased: false,
    weight: 1,
    target: -5,
    zeroAt: 10,
  },
  alertsAckInTime: {
    perspective: 'improvement',
    name: { zh: '告警及时确认率', en: 'Alerts acknowledged in time' },
    unit: '%',
    direction: 'higher',
    budgetBased: false,
    weight: 1,
    target: 95,
    zeroAt: 50,
  },
};

export const PERSPECTIVES: readonly ScorecardPerspective[] = ['cost', 'process', 'service', 'improvement'];

export const PERSPECTIVE_LABELS: Readonly<Record<ScorecardPerspective, Name>> = {
  cost: { zh: '成本', en: 'Cost' },
  process: { zh: '内部流程', en: 'Process' },
  service: { zh: '服务对象', en: 'Service' },
  improvement: { zh: '学习与改进', en: 'Improvement' },
};

export const DEFAULT_PERSPECTIVE_WEIGHT = 25;

/** The scorecard's settings: the file's over the defaults. */
export interface ScorecardConfig {
  readonly weights: Readonly<Record<ScorecardPerspective, number>>;
  readonly indicators: Readonly<Record<ScorecardIndicator, IndicatorSpec>>;
  /** Minutes within which an acknowledged alert counts as in time. */
  readonly ackWithinMinutes: number;
}

export function scorecardConfig(facility: Facility): ScorecardConfig {
  const file = facility.scorecard;
  const weights = Object.fromEntries(
    PERSPECTIVES.map((p) => [p, file?.weights?.[p] ?? DEFAULT_PERSPECTIVE_WEIGHT]),
  ) as Record<ScorecardPerspective, number>;
  const given = (file?.indicators ?? {}) as Partial<
    Record<ScorecardIndicator, { weight?: number; target?: number; zeroAt?: number }>
  >;
  const indicators = Object.fromEntries(
    (Object.keys(DEFAULT_INDICATORS) as ScorecardIndicator[]).map((id) => {
      const base = DEFAULT_INDICATORS[id];
      const own = given[id] ?? {};
      return [
        id,
        {
          ...base,
          weight: own.weight ?? base.weight,
          target: base.budgetBased ? null : (own.target ?? base.target),
          zeroAt: own.zeroAt ?? base.zeroAt,
        },
      ];
    }),
  ) as Record<ScorecardIndicator, IndicatorSpec>;
  return { weights, indicators, ackWithinMinutes: file?.ackWithinMinutes ?? 30 };
}

/** The indicators of each perspective, in order. */
export function indicatorsOf(perspective: ScorecardPerspective): readonly ScorecardIndicator[] {
  return SCORECARD_INDICATORS[perspective];
}
