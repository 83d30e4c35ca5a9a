/** The facility model (buildings, departments, rooms, vehicles, geofences), read once after sign-in. */
import { shallowRef } from 'vue';
import { request } from './api/client.ts';
import type { FacilityModel } from './api/types.ts';

export const facility = shallowRef<FacilityModel | null>(null);

export async function loadFacility(): Promise<FacilityModel> {
  const model = await request<FacilityModel>('GET', '/api/v1/facility');
  facility.value = model;
  return model;
}

export function forgetFacility(): void {
  facility.value = null;
}
