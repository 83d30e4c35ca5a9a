/**
 * ECharts, tree-shaken: only the charts and components the page draws, on the canvas renderer.
 * Text uses the system's CJK fonts (Noto Sans CJK on Debian, PingFang or Microsoft YaHei
 * elsewhere); nothing is fetched.
 */
import {
  BarChart,
  EffectScatterChart,
  HeatmapChart,
  LineChart,
  LinesChart,
  MapChart,
  ScatterChart,
} from 'echarts/charts';
import {
  AriaComponent,
  DataZoomComponent,
  GeoComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  EffectScatterChart,
  HeatmapChart,
  LineChart,
  LinesChart,
  MapChart,
  ScatterChart,
  AriaComponent,
  DataZoomComponent,
  GeoComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export { echarts };
export type ChartOption = echarts.EChartsCoreOption;

export const FONT_FAMILY =
  '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "Noto Sans", sans-serif';

/** Colours of the console's dark theme, shared by the charts and the CSS. */
export const COLORS = {
  text: '#d6e2f0',
  muted: '#8da2bb',
  grid: '#22354d',
  axis: '#3a5270',
  accent: '#3fa9f5',
  good: '#34c38f',
  warn: '#f1b44c',
  bad: '#f46a6a',
  violet: '#a78bfa',
  series: [
    '#3fa9f5',
    '#34c38f',
    '#f1b44c',
    '#a78bfa',
    '#f46a6a',
    '#50d6d0',
    '#e78ac3',
    '#9ccc65',
    '#ffb74d',
    '#90a4ae',
  ],
} as const;

/** What every chart shares: fonts, colours, transparent background, readable axes. */
export function baseOption(): ChartOption {
  return {
    backgroundColor: 'transparent',
    color: [...COLORS.series],
    textStyle: { fontFamily: FONT_FAMILY, color: COLORS.text },
    aria: { enabled: true },
    animationDuration: 300,
    tooltip: {
      backgroundColor: '#0d1b2c',
      borderColor: COLORS.axis,
      textStyle: { color: COLORS.text, fontFamily: FONT_FAMILY },
      confine: true,
    },
  };
}

export function valueAxis(name: string): ChartOption {
  return {
    type: 'value',
    name,
    nameTextStyle: { color: COLORS.muted },
    axisLabel: { color: COLORS.muted },
    splitLine: { lineStyle: { color: COLORS.grid } },
  };
}
