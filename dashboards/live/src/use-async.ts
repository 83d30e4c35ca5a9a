/**
 * An answer a panel shows: loading, the data, or the error; reloaded when what it depends on
 * changes, and every `refreshMs` while the panel is on screen (the figures guard of client.ts keeps
 * that at once a minute at most). A later answer wins over an earlier one still in flight.
 */
import { onBeforeUnmount, type Ref, ref, shallowRef, type WatchSource, watch } from 'vue';

export interface AsyncData<T> {
  readonly data: Ref<T | null>;
  readonly loading: Ref<boolean>;
  readonly error: Ref<unknown>;
  reload(): Promise<void>;
}

export function useAsync<T>(
  load: () => Promise<T>,
  sources: WatchSource[] = [],
  refreshMs?: number,
): AsyncData<T> {
  const data = shallowRef<T | null>(null);
  const loading = ref(true);
  const error = shallowRef<unknown>(null);
  let generation = 0;

  async function reload(): Promise<void> {
    const mine = ++generation;
    loading.value = data.value === null;
    try {
      const answer = await load();
      if (mine !== generation) return;
      data.value = answer;
      error.value = null;
    } catch (failure) {
      if (mine !== generation) return;
      error.value = failure;
    } finally {
      if (mine === generation) loading.value = false;
    }
  }

  if (sources.length > 0) {
    watch(sources, () => {
      data.value = null;
      void reload();
    });
  }
  void reload();
  let timer: ReturnType<typeof setInterval> | undefined;
  if (refreshMs !== undefined) timer = setInterval(() => void reload(), refreshMs);
  onBeforeUnmount(() => {
    clearInterval(timer);
    generation++;
  });
  return { data, loading, error, reload };
}
