/**
 * Metric families kept in plain objects, for figures recorded on hot paths: recording is a map lookup and an
 * addition, and nothing is turned into OpenTelemetry data until a reader collects (a /metrics scrape or an OTLP
 * push), when a MetricProducer (system/telemetry/metrics.ts) reads every family of the registry. Label values are
 * given positionally, in the order the family declared its label names, and must come from bounded sets.
 */
import { ValueType, type Attributes } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';

type HrTime = [number, number];

/** One family: a metric name, its labels, and the points recorded so far. */
export interface Family {
  readonly name: string;
  data(startTime: HrTime, endTime: HrTime): MetricData;
}

interface Point<V> {
  attributes: Attributes;
  value: V;
}

abstract class Labelled<V> implements Family {
  /** Points by their label values, one map level per label (no key string is built per recording). */
  private readonly index = new Map<string, unknown>();
  protected readonly points: Point<V>[] = [];

  constructor(
    readonly name: string,
    readonly description: string,
    readonly unit: string,
    readonly labels: readonly string[],
  ) {}

  /**
   * Makes the series of these label values exist (at zero) before anything is recorded, so a rare event's series
   * is there for rate() and for dashboards from the start (Prometheus' advice for known label values).
   */
  touch(values: readonly string[]): void {
    this.point(values);
  }

  /** The point for these label values, created on first use. */
  protected point(values: readonly string[]): Point<V> {
    if (values.length !== this.labels.length) throw new Error(`${this.name} takes labels ${this.labels.join(', ')}`);
    let level = this.index;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(values[i]!, next);
      }
      level = next;
    }
    const key = last >= 0 ? values[last]! : '';
    let p = level.get(key) as Point<V> | undefined;
    if (!p) {
      const attributes: Attributes = {};
      this.labels.forEach((label, i) => (attributes[label] = values[i]!));
      p = { attributes, value: this.initial() };
      level.set(key, p);
      this.points.push(p);
    }
    return p;
  }

  protected abstract initial(): V;
  abstract data(startTime: HrTime, endTime: HrTime): MetricData;
}

/** A monotonic counter per label set (Prometheus `<name>_total`). */
export class CounterFamily extends Labelled<number> {
  /** Adds `n` (default 1) to the counter of these label values. */
  add(values: readonly string[], n = 1): void {
    this.point(values).value += n;
  }

  protected initial(): number {
    return 0;
  }

  data(startTime: HrTime, endTime: HrTime): MetricData {
    return {
      descriptor: { name: this.name, description: this.description, unit: this.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: this.points.map((p) => ({ startTime, endTime, attributes: p.attributes, value: p.value })),
    };
  }
}

/** A value per label set that goes up and down (a gauge set by whoever knows the figure). */
export class GaugeFamily extends Labelled<number> {
  /** Sets the gauge of these label values. */
  set(values: readonly string[], value: number): void {
    this.point(values).value = value;
  }

  /** Adds `delta` (may be negative) to the gauge of these label values. */
  add(values: readonly string[], delta: number): void {
    this.point(values).value += delta;
  }

  protected initial(): number {
    return 0;
  }

  data(startTime: HrTime, endTime: HrTime): MetricData {
    return {
      descriptor: { name: this.name, description: this.description, unit: this.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE,
      dataPoints: this.points.map((p) => ({ startTime: endTime, endTime, attributes: p.attributes, value: p.value })),
    };
  }
}

interface HistogramState {
  /** Observations per bucket (not cumulative): one per boundary, then +Inf. */
  counts: number[];
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** A histogram per label set with fixed bucket boundaries (Prometheus `<name>_bucket`, `_sum`, `_count`). */
export class HistogramFamily extends Labelled<HistogramState> {
  constructor(
    name: string,
    description: string,
    unit: string,
    labels: readonly string[],
    readonly boundaries: readonly number[],
  ) {
    super(name, description, unit, labels);
  }

  /** Records one observation for these label values. */
  record(values: readonly string[], observation: number): void {
    const h = this.point(values).value;
    const b = this.boundaries;
    let i = 0;
    while (i < b.length && observation > b[i]!) i++;
    h.counts[i]!++;
    h.sum += observation;
    h.count++;
    if (observation < h.min) h.min = observation;
    if (observation > h.max) h.max = observation;
  }

  protected initial(): HistogramState {
    return { counts: new Array<number>(this.boundaries.length + 1).fill(0), sum: 0, count: 0, min: Infinity, max: -Infinity };
  }

  data(startTime: HrTime, endTime: HrTime): MetricData {
    const dataPoints: DataPoint<Histogram>[] = this.points.map((p) => ({
      startTime,
      endTime,
      attributes: p.attributes,
      value: {
        buckets: { boundaries: [...this.boundaries], counts: [...p.value.counts] },
        sum: p.value.sum,
        count: p.value.count,
        ...(p.value.count > 0 ? { min: p.value.min, max: p.value.max } : {}),
      },
    }));
    return {
      descriptor: { name: this.name, description: this.description, unit: this.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints,
    };
  }
}

/** A set of families read together at collection time. */
export class MetricRegistry {
  private readonly families = new Map<string, Family>();

  /** A counter family; one without labels starts at zero. */
  counter(name: string, description: string, unit: string, labels: readonly string[] = []): CounterFamily {
    const family = this.add(new CounterFamily(name, description, unit, labels));
    if (labels.length === 0) family.touch([]);
    return family;
  }

  gauge(name: string, description: string, unit: string, labels: readonly string[] = []): GaugeFamily {
    return this.add(new GaugeFamily(name, description, unit, labels));
  }

  histogram(name: string, description: string, unit: string, labels: readonly string[], boundaries: readonly number[]): HistogramFamily {
    return this.add(new HistogramFamily(name, description, unit, labels, boundaries));
  }

  /** Every family's points as OTel data; families with no points yet are left out. */
  collect(startTime: HrTime, endTime: HrTime): MetricData[] {
    return [...this.families.values()].map((f) => f.data(startTime, endTime)).filter((m) => m.dataPoints.length > 0);
  }

  private add<F extends Family>(family: F): F {
    if (this.families.has(family.name)) throw new Error(`metric ${family.name} is defined twice`);
    this.families.set(family.name, family);
    return family;
  }
}
