/** One line of a chart. */
export interface Series {
  readonly name: string;
  /** [time ms, value] pairs, oldest first. */
  readonly points: readonly (readonly [number, number])[];
}

/** Options of {@link LineChart}. */
export interface LineChartProps {
  readonly title: string;
  readonly series: readonly Series[];
  /** The x range: [start, end] in ms. */
  readonly range: readonly [number, number];
  /** Formats the y axis' top value. */
  readonly unit: (v: number) => string;
  /** A fixed top of the y axis (e.g. 1 for ratios); default the data's maximum. */
  readonly max?: number;
}

const width = 480;
const height = 150;
const pad = { left: 46, right: 8, top: 8, bottom: 18 };
/** Line colours, by series index; CSS classes keep them out of inline styles. */
const palette = 8;

/**
 * A small SVG line chart with a legend: no chart library, no canvas, and
 * only text nodes for labels, so that method names stay text.
 */
export function LineChart(props: LineChartProps) {
  const [x0, x1] = props.range;
  const top = props.max ?? Math.max(0, ...props.series.flatMap((s) => s.points.map((p) => p[1])));
  const yMax = top > 0 ? top : 1;
  const x = (t: number): number => pad.left + ((t - x0) / Math.max(1, x1 - x0)) * (width - pad.left - pad.right);
  const y = (v: number): number => height - pad.bottom - (v / yMax) * (height - pad.top - pad.bottom);
  const minutes = Math.round((x1 - x0) / 60_000);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.title}>
        <line class="axis" x1={pad.left} y1={y(0)} x2={width - pad.right} y2={y(0)} />
        <line class="grid" x1={pad.left} y1={y(yMax)} x2={width - pad.right} y2={y(yMax)} />
        <text class="tick" x={pad.left - 4} y={y(yMax) + 4} text-anchor="end">{props.unit(yMax)}</text>
        <text class="tick" x={pad.left - 4} y={y(0) + 4} text-anchor="end">0</text>
        <text class="tick" x={pad.left} y={height - 4}>{`-${minutes} min`}</text>
        <text class="tick" x={width - pad.right} y={height - 4} text-anchor="end">now</text>
        {props.series.map((s, i) => (
          <polyline
            key={s.name}
            class={`line c${i % palette}`}
            points={s.points.map(([t, v]) => `${x(t).toFixed(1)},${y(Math.min(v, yMax)).toFixed(1)}`).join(" ")}
          />
        ))}
      </svg>
      <ul class="legend">
        {props.series.map((s, i) => (
          <li key={s.name}>
            <span class={`swatch c${i % palette}`} />
            {s.name}
          </li>
        ))}
        {props.series.length === 0 ? <li class="muted">no calls yet</li> : null}
      </ul>
    </figure>
  );
}
