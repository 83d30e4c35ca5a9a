/**
 * Bilingual display labels of the facility file's enumerated values, for the CLI, the API and
 * the dashboards alike.
 */
import type {
  BuildingUse,
  ClimateZone,
  MeterKind,
  MeterSystem,
  Name,
  QuotaKind,
  QuotaScope,
  RoomType,
  SensorMeasure,
  VehicleEnergy,
  VehicleType,
  Weekday,
} from './schema.ts';

export const CLIMATE_ZONE_LABELS: Record<ClimateZone, Name> = {
  'severe-cold': { zh: '严寒', en: 'severe cold' },
  cold: { zh: '寒冷', en: 'cold' },
  'hot-summer-cold-winter': { zh: '夏热冬冷', en: 'hot summer, cold winter' },
  'hot-summer-warm-winter': { zh: '夏热冬暖', en: 'hot summer, warm winter' },
  mild: { zh: '温和', en: 'mild' },
};

export const BUILDING_USE_LABELS: Record<BuildingUse, Name> = {
  office: { zh: '办公', en: 'office' },
  conference: { zh: '会议', en: 'conference' },
  services: { zh: '后勤服务', en: 'services' },
  canteen: { zh: '食堂', en: 'canteen' },
  datacenter: { zh: '数据中心', en: 'data centre' },
  garage: { zh: '车库', en: 'garage' },
  dormitory: { zh: '宿舍', en: 'dormitory' },
  other: { zh: '其他', en: 'other' },
};

export const METER_KIND_LABELS: Record<MeterKind, Name> = {
  electricity: { zh: '电', en: 'electricity' },
  water: { zh: '水', en: 'water' },
  gas: { zh: '燃气', en: 'gas' },
};

export const METER_SYSTEM_LABELS: Record<MeterSystem, Name> = {
  total: { zh: '总表', en: 'total' },
  'lighting-sockets': { zh: '照明插座', en: 'lighting & sockets' },
  hvac: { zh: '空调', en: 'HVAC' },
  power: { zh: '动力', en: 'power' },
  special: { zh: '特殊', en: 'special' },
  department: { zh: '部门', en: 'department' },
};

export const VEHICLE_ENERGY_LABELS: Record<VehicleEnergy, Name> = {
  gasoline: { zh: '汽油', en: 'gasoline' },
  diesel: { zh: '柴油', en: 'diesel' },
  electric: { zh: '纯电', en: 'electric' },
};

export const VEHICLE_TYPE_LABELS: Record<VehicleType, Name> = {
  sedan: { zh: '轿车', en: 'sedan' },
  suv: { zh: 'SUV', en: 'SUV' },
  mpv: { zh: 'MPV', en: 'MPV' },
  minibus: { zh: '中巴', en: 'minibus' },
  bus: { zh: '大巴', en: 'bus' },
  van: { zh: '厢式车', en: 'van' },
  pickup: { zh: '皮卡', en: 'pickup' },
  truck: { zh: '货车', en: 'truck' },
  other: { zh: '其他', en: 'other' },
};

export const ROOM_TYPE_LABELS: Record<RoomType, Name> = {
  meeting: { zh: '会议室', en: 'meeting' },
  office: { zh: '办公区', en: 'office' },
  canteen: { zh: '食堂', en: 'canteen' },
  other: { zh: '其他', en: 'other' },
};

export const SENSOR_MEASURE_LABELS: Record<SensorMeasure, Name> = {
  occupancy: { zh: '人数', en: 'occupancy' },
  temperature: { zh: '温度', en: 'temperature' },
  humidity: { zh: '湿度', en: 'humidity' },
  co2: { zh: '二氧化碳', en: 'CO2' },
  hvac: { zh: '空调状态', en: 'HVAC state' },
  lights: { zh: '照明', en: 'lights' },
};

export const QUOTA_SCOPE_LABELS: Record<QuotaScope, Name> = {
  site: { zh: '园区', en: 'site' },
  building: { zh: '建筑', en: 'building' },
  department: { zh: '部门', en: 'department' },
};

export const QUOTA_KIND_LABELS: Record<QuotaKind, Name> = {
  electricity: { zh: '电', en: 'electricity' },
  water: { zh: '水', en: 'water' },
  gas: { zh: '燃气', en: 'gas' },
  gasoline: { zh: '汽油', en: 'gasoline' },
  diesel: { zh: '柴油', en: 'diesel' },
  'standard-coal': { zh: '综合能耗', en: 'total energy' },
};

export const WEEKDAY_LABELS: Record<Weekday, Name> = {
  mon: { zh: '周一', en: 'Mon' },
  tue: { zh: '周二', en: 'Tue' },
  wed: { zh: '周三', en: 'Wed' },
  thu: { zh: '周四', en: 'Thu' },
  fri: { zh: '周五', en: 'Fri' },
  sat: { zh: '周六', en: 'Sat' },
  sun: { zh: '周日', en: 'Sun' },
};
