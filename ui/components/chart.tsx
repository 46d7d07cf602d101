/**
 * A Chart.js chart on a canvas, rebuilt when its configuration changes. The
 * canvas is an image to assistive technology: `label` says what it shows
 * (the views show the same figures in their tables).
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip, type ChartConfiguration } from 'chart.js';
import { BarWithErrorBar, BarWithErrorBarsController } from 'chartjs-chart-error-bars';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Tooltip, Legend, BarWithErrorBarsController, BarWithErrorBar);
// Screenshots and tests see the final chart, and so does a user who switches tabs.
Chart.defaults.animation = false;

export function ChartCanvas({ config, label, height = 260 }: { config: ChartConfiguration<any, any, any>; label: string; height?: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const key = JSON.stringify(config);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new Chart(canvas.current, { ...config, options: { responsive: true, maintainAspectRatio: false, ...config.options } });
    return () => chart.destroy();
  }, [key]);
  return (
    <div class="chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

export const PALETTE = ['#3b6fd8', '#e07b39', '#3aa37a', '#b04fbf', '#c9a227', '#d0455e', '#4aa8c7', '#7a7f87'];
