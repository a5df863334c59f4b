// Every user-facing string of the viewer, in Dutch (default) and English, and the number formats.
// Data titles that come from the server (layer catalogue, model metadata) are shown as served;
// the catalogue carries {nl, en}, model indicators are English with Dutch names below for the
// domains and the dashboard's key indicators.

export type Lang = 'nl' | 'en';

const nl = {
  appTitle: 'Tweeling — digitale tweeling Dordrecht',
  appShort: 'Tweeling Dordrecht',
  langToggle: 'English',
  langToggleAria: 'Switch the interface to English',
  loadingCity: 'Stad laden…',
  loadingBuildings: 'Gebouwen laden…',
  buildingsLoaded: '{n} gebouwen geladen ({mb} MB)',
  loadFailed: 'Laden mislukt: {error}',
  basemapMissing: 'Achtergrondkaart niet beschikbaar ({error}); gebouwen worden zonder kaart getoond.',
  mapLabel: '3D-kaart van Dordrecht. Pijltjestoetsen verschuiven, + en − zoomen.',
  attribution: '© OpenStreetMap contributors, OpenMapTiles, CBS, Kadaster',
  // panels
  layersTitle: 'Lagen',
  layersLoading: 'Lagencatalogus laden…',
  layersUnavailable: 'Lagencatalogus niet beschikbaar: {error}',
  layerOpacity: 'Dekking van {layer}',
  layerUp: '{layer} omhoog',
  layerDown: '{layer} omlaag',
  groupCity: 'Stad',
  groupIndicators: 'Indicatoren',
  groupSensors: 'Sensoren',
  groupBasemap: 'Achtergrond',
  groupScenario: 'Scenario',
  colourTitle: 'Kleur en legenda',
  colourBy: 'Kleur gebouwen naar',
  palette: 'Kleurenschaal',
  paletteViridis: 'viridis (sequentieel)',
  paletteCividis: 'cividis (sequentieel)',
  showEstimated: 'Geschatte hoogtes onderscheiden',
  estimatedLegend: 'Licht van kleur: hoogte geschat ({method})',
  measuredLegend: 'Vol: hoogte gemeten (OSM)',
  legendNoData: 'geen waarde',
  legendOther: 'overig',
  legendIncrease: 'toename',
  legendDecrease: 'afname',
  legendBetterLower: 'lager is beter',
  legendBetterHigher: 'hoger is beter',
  legendNeutral: 'geen voorkeursrichting',
  legendUnchanged: 'ongewijzigd',
  legendAdded: 'oranje: nieuw gebouw (scenario)',
  legendRemoved: 'rood: gesloopt gebouw (scenario)',
  yes: 'ja',
  no: 'nee',
  infoTitle: 'Informatie',
  infoEmpty: 'Klik op een gebouw of buurt om de gegevens te zien.',
  infoClose: 'Informatiepaneel sluiten',
  infoBuilding: 'Gebouw {id}',
  infoBuurt: 'Buurt {name}',
  infoFeature: '{layer} {id}',
  infoLoadingRecord: 'Volledig record laden…',
  infoFullRecord: 'Volledig record',
  infoSource: 'bron',
  infoSourceAll: 'Bron (van alle waarden, tenzij anders vermeld)',
  infoMethod: 'methode',
  infoEstimated: 'geschat',
  infoEstimatedTitle: 'Geschatte waarde — methode: {method}',
  infoSimulated: 'gesimuleerd',
  // sensors
  sensorsTitle: 'Live sensoren',
  sensorsLoading: 'Sensoren laden…',
  sensorsUnavailable: 'Sensoren niet beschikbaar: {error}',
  sensorsLive: 'live',
  sensorsOffline: 'geen live verbinding',
  sensorsSimulated: 'Gesimuleerde waarden: {method}',
  sensorsLast24h: 'laatste 24 uur',
  sensorsAlerts: 'Meldingen',
  sensorsNoAlerts: 'Geen meldingen in de laatste 24 uur.',
  sensorsFocus: 'Toon {name} op de kaart',
  // scenario
  scenarioTitle: 'Scenario-editor',
  scenarioName: 'Naam van het scenario',
  scenarioDefaultName: 'Mijn scenario',
  interventionType: 'Soort ingreep',
  interventionList: 'Ingrepen in dit scenario',
  interventionNone: 'Nog geen ingrepen toegevoegd; de ingreep in het formulier wordt gebruikt.',
  interventionAdd: 'Ingreep toevoegen',
  interventionRemove: 'Verwijder ingreep {n}',
  type_housing_project: 'Woningbouwproject',
  type_traffic_measure: 'Verkeersmaatregel',
  type_greening: 'Vergroening',
  type_facility: 'Voorziening',
  type_time_horizon: 'Tijdshorizon',
  drawPolygon: 'Teken vlak',
  drawPoint: 'Plaats punt',
  drawPoints: 'Plaats punten',
  selectRoads: 'Kies wegen',
  selectBuildings: 'Kies gebouwen',
  drawFinish: 'Klaar',
  drawCancel: 'Annuleren',
  drawHintPolygon: 'Klik punten op de kaart; dubbelklik, Enter of klik op het eerste punt om af te sluiten. Esc annuleert, Backspace wist het laatste punt.',
  drawHintPoint: 'Klik op de kaart om het punt te plaatsen. Esc annuleert.',
  drawHintPoints: 'Klik punten op de kaart; Enter rondt af. Esc annuleert.',
  drawHintRoads: 'Klik wegen op de kaart om ze te (de)selecteren; Enter rondt af.',
  drawHintBuildings: 'Klik gebouwen op de kaart om ze te (de)selecteren; Enter rondt af.',
  geometryNone: 'nog niet getekend',
  geometryPolygon: 'vlak met {n} punten',
  geometryPoint: 'punt',
  geometryPoints: '{n} punten',
  geometryIds: '{n} gekozen',
  roadsLoading: 'Wegennet laden…',
  scenarioRun: 'Scenario doorrekenen',
  scenarioRunning: 'Bezig: {message} ({progress}%)',
  scenarioQueued: 'Ingediend…',
  scenarioDone: 'Klaar in {seconds} s.',
  scenarioFailed: 'Doorrekenen mislukt: {error}',
  scenarioNeedsGeometry: 'Teken eerst de geometrie ({field}).',
  differenceLayer: 'Verschilkaart',
  differenceNone: 'geen verschilkaart',
  levelBuildings: 'gebouwen',
  levelGrid: 'raster 100 m',
  levelRoads: 'wegen',
  levelBuurt: 'buurten',
  compareToggle: 'Vergelijk basis en scenario',
  compareOn: 'Vergelijking aan: links basis, rechts scenario',
  compareSlider: 'Scheidslijn tussen basis (links) en scenario (rechts)',
  compareBaseline: 'Basis',
  compareScenario: 'Scenario',
  effectsTitle: 'Effecten per domein',
  effectsIntervention: 'Ingreep',
  cityTitle: 'Gewijzigde indicatoren (hele stad)',
  cityIndicator: 'Indicator',
  cityBaseline: 'Basis',
  cityScenario: 'Scenario',
  cityDifference: 'Verschil',
  betterMark: 'beter',
  worseMark: 'slechter',
  summaryTitle: 'Samenvatting',
  scenarioSource: 'scenario-doorrekening (impactmodellen)',
  scenarioMethod: 'modeluitkomst op deels geschatte invoer',
  estimatedInputs: 'Invoer bevat geschatte waarden (hoogtes, woningen, bewoners) en aangenomen modelparameters.',
  fieldRequired: 'verplicht',
  householdMix: 'Huishoudensmix (samen 1)',
  // dashboard
  dashboardTitle: 'Dashboard — gemeenschappelijk beeld',
  dashboardOpen: 'Dashboard openen',
  dashboardClose: 'Dashboard sluiten',
  dashboardLevel: 'Niveau',
  dashboardWijk: 'per wijk',
  dashboardBuurt: 'per buurt',
  dashboardThemeLiveable: 'Leefbare stad',
  dashboardThemeSocial: 'Sociaal domein',
  dashboardArea: 'Gebied',
  dashboardNoScenario: 'Basiswaarden (huidige stad). Reken een scenario door om per gebied de verandering te zien (basis → scenario).',
  dashboardModelled: 'Indicatoren zijn modeluitkomsten op deels geschatte invoer (hoogtes, woningen, bewoners); zie de modeldocumentatie.',
  dashboardFromJob: 'Indicatoren uit scenario “{name}” (job {job}).',
  dashboardSensors: 'Sensoren (trend 24 uur)',
  dashboardAlerts: 'Meldingen',
  dashboardHighlight: 'Markeer {area} op de kaart',
  dashboardCbs: 'CBS kerncijfers 2020',
  dashboardLoading: 'Dashboard laden…',
  domain_traffic: 'verkeer',
  domain_air: 'lucht',
  domain_noise: 'geluid',
  domain_heat: 'hitte',
  domain_green: 'groen',
  domain_proximity: 'nabijheid',
  domain_demography: 'demografie',
  domain_care: 'zorg',
  domain_liveability: 'leefbaarheid',
  residents: 'Inwoners',
  share65: 'Aandeel 65+',
} as const;

export type Key = keyof typeof nl;

const en: Record<Key, string> = {
  appTitle: 'Tweeling — digital twin of Dordrecht',
  appShort: 'Tweeling Dordrecht',
  langToggle: 'Nederlands',
  langToggleAria: 'Schakel de interface naar het Nederlands',
  loadingCity: 'Loading the city…',
  loadingBuildings: 'Loading buildings…',
  buildingsLoaded: '{n} buildings loaded ({mb} MB)',
  loadFailed: 'Loading failed: {error}',
  basemapMissing: 'Basemap not available ({error}); buildings are shown without a map.',
  mapLabel: '3D map of Dordrecht. Arrow keys pan, + and − zoom.',
  attribution: '© OpenStreetMap contributors, OpenMapTiles, CBS, Kadaster',
  layersTitle: 'Layers',
  layersLoading: 'Loading the layer catalogue…',
  layersUnavailable: 'Layer catalogue not available: {error}',
  layerOpacity: 'Opacity of {layer}',
  layerUp: 'Move {layer} up',
  layerDown: 'Move {layer} down',
  groupCity: 'City',
  groupIndicators: 'Indicators',
  groupSensors: 'Sensors',
  groupBasemap: 'Basemap',
  groupScenario: 'Scenario',
  colourTitle: 'Colour and legend',
  colourBy: 'Colour buildings by',
  palette: 'Colour scale',
  paletteViridis: 'viridis (sequential)',
  paletteCividis: 'cividis (sequential)',
  showEstimated: 'Distinguish estimated heights',
  estimatedLegend: 'Light colour: height estimated ({method})',
  measuredLegend: 'Solid: height measured (OSM)',
  legendNoData: 'no value',
  legendOther: 'other',
  legendIncrease: 'increase',
  legendDecrease: 'decrease',
  legendBetterLower: 'lower is better',
  legendBetterHigher: 'higher is better',
  legendNeutral: 'no preferred direction',
  legendUnchanged: 'unchanged',
  legendAdded: 'orange: new building (scenario)',
  legendRemoved: 'red: demolished building (scenario)',
  yes: 'yes',
  no: 'no',
  infoTitle: 'Information',
  infoEmpty: 'Click a building or buurt to see its data.',
  infoClose: 'Close the information panel',
  infoBuilding: 'Building {id}',
  infoBuurt: 'Buurt {name}',
  infoFeature: '{layer} {id}',
  infoLoadingRecord: 'Loading the full record…',
  infoFullRecord: 'Full record',
  infoSource: 'source',
  infoSourceAll: 'Source (of every value unless stated otherwise)',
  infoMethod: 'method',
  infoEstimated: 'estimated',
  infoEstimatedTitle: 'Estimated value — method: {method}',
  infoSimulated: 'simulated',
  sensorsTitle: 'Live sensors',
  sensorsLoading: 'Loading sensors…',
  sensorsUnavailable: 'Sensors not available: {error}',
  sensorsLive: 'live',
  sensorsOffline: 'no live connection',
  sensorsSimulated: 'Simulated values: {method}',
  sensorsLast24h: 'last 24 hours',
  sensorsAlerts: 'Alerts',
  sensorsNoAlerts: 'No alerts in the last 24 hours.',
  sensorsFocus: 'Show {name} on the map',
  scenarioTitle: 'Scenario editor',
  scenarioName: 'Scenario name',
  scenarioDefaultName: 'My scenario',
  interventionType: 'Intervention type',
  interventionList: 'Interventions in this scenario',
  interventionNone: 'No interventions added yet; the intervention in the form is used.',
  interventionAdd: 'Add intervention',
  interventionRemove: 'Remove intervention {n}',
  type_housing_project: 'Housing project',
  type_traffic_measure: 'Traffic measure',
  type_greening: 'Greening',
  type_facility: 'Facility',
  type_time_horizon: 'Time horizon',
  drawPolygon: 'Draw polygon',
  drawPoint: 'Place point',
  drawPoints: 'Place points',
  selectRoads: 'Select roads',
  selectBuildings: 'Select buildings',
  drawFinish: 'Done',
  drawCancel: 'Cancel',
  drawHintPolygon: 'Click points on the map; double-click, Enter or click the first point to finish. Esc cancels, Backspace removes the last point.',
  drawHintPoint: 'Click the map to place the point. Esc cancels.',
  drawHintPoints: 'Click points on the map; Enter finishes. Esc cancels.',
  drawHintRoads: 'Click roads on the map to (de)select them; Enter finishes.',
  drawHintBuildings: 'Click buildings on the map to (de)select them; Enter finishes.',
  geometryNone: 'not drawn yet',
  geometryPolygon: 'polygon with {n} points',
  geometryPoint: 'point',
  geometryPoints: '{n} points',
  geometryIds: '{n} selected',
  roadsLoading: 'Loading the road network…',
  scenarioRun: 'Run scenario',
  scenarioRunning: 'Running: {message} ({progress}%)',
  scenarioQueued: 'Submitted…',
  scenarioDone: 'Done in {seconds} s.',
  scenarioFailed: 'Run failed: {error}',
  scenarioNeedsGeometry: 'Draw the geometry first ({field}).',
  differenceLayer: 'Difference map',
  differenceNone: 'no difference map',
  levelBuildings: 'buildings',
  levelGrid: '100 m grid',
  levelRoads: 'roads',
  levelBuurt: 'buurten',
  compareToggle: 'Compare baseline and scenario',
  compareOn: 'Comparing: baseline left, scenario right',
  compareSlider: 'Divider between baseline (left) and scenario (right)',
  compareBaseline: 'Baseline',
  compareScenario: 'Scenario',
  effectsTitle: 'Effects per domain',
  effectsIntervention: 'Intervention',
  cityTitle: 'Changed indicators (whole city)',
  cityIndicator: 'Indicator',
  cityBaseline: 'Baseline',
  cityScenario: 'Scenario',
  cityDifference: 'Difference',
  betterMark: 'better',
  worseMark: 'worse',
  summaryTitle: 'Summary',
  scenarioSource: 'scenario run (impact models)',
  scenarioMethod: 'model result on partly estimated inputs',
  estimatedInputs: 'Inputs include estimated values (heights, dwellings, residents) and assumed model parameters.',
  fieldRequired: 'required',
  householdMix: 'Household mix (adds up to 1)',
  dashboardTitle: 'Dashboard — common operational picture',
  dashboardOpen: 'Open the dashboard',
  dashboardClose: 'Close the dashboard',
  dashboardLevel: 'Level',
  dashboardWijk: 'per wijk',
  dashboardBuurt: 'per buurt',
  dashboardThemeLiveable: 'Liveable city',
  dashboardThemeSocial: 'Social domain',
  dashboardArea: 'Area',
  dashboardNoScenario: 'Baseline values (the current city). Run a scenario to see the change per area (baseline → scenario).',
  dashboardModelled: 'Indicators are model results on partly estimated inputs (heights, dwellings, residents); see the model documentation.',
  dashboardFromJob: 'Indicators from scenario “{name}” (job {job}).',
  dashboardSensors: 'Sensors (24-hour trend)',
  dashboardAlerts: 'Alerts',
  dashboardHighlight: 'Highlight {area} on the map',
  dashboardCbs: 'CBS key figures 2020',
  dashboardLoading: 'Loading the dashboard…',
  domain_traffic: 'traffic',
  domain_air: 'air',
  domain_noise: 'noise',
  domain_heat: 'heat',
  domain_green: 'green',
  domain_proximity: 'proximity',
  domain_demography: 'demography',
  domain_care: 'care',
  domain_liveability: 'liveability',
  residents: 'Residents',
  share65: 'Share 65+',
};

/** Dutch titles of model indicators shown on the dashboard and in tables (English comes from /v1/models). */
const indicatorNl: Record<string, string> = {
  no2_ugm3: 'NO2 jaargemiddelde',
  no2_max_ugm3: 'Hoogste NO2 aan een gevel',
  residents_above_who_share: 'Bewoners boven WHO-advieswaarde',
  residents_above_20_share: 'Bewoners boven 20 µg/m³',
  residents_above_40: 'Bewoners boven EU-grenswaarde',
  lden_db: 'Wegverkeerslawaai Lden',
  lden_mean_db: 'Gemiddelde Lden bij woningen',
  dwellings_above_55db: 'Woningen boven 55 dB Lden',
  dwellings_above_55db_share: 'Aandeel woningen boven 55 dB Lden',
  dwellings_above_65db_share: 'Aandeel woningen boven 65 dB Lden',
  pet_c: 'PET op een hete middag',
  pet_mean_c: 'Gemiddelde PET buiten',
  area_pet_above_41_share: 'Buitenruimte met extreme hittestress',
  dwellings_pet_above_41_share: 'Woningen met extreme hittestress buiten',
  dwellings_pet_above_41: 'Woningen met extreme hittestress buiten',
  shade_share: 'Schaduw 12–18 uur',
  dist_green_m: 'Afstand tot groen (≥ 1 ha)',
  share_within_500m_green: 'Woningen binnen 500 m van groen',
  dist_gp_m: 'Afstand tot huisarts',
  share_within_1000m_gp: 'Woningen binnen 1 km van een huisarts',
  dist_supermarket_m: 'Afstand tot supermarkt',
  dist_school_m: 'Afstand tot school',
  pop_total: 'Inwoners',
  share_65_plus: 'Aandeel 65+',
  share_75_plus: 'Aandeel 75+',
  pop_change: 'Verandering inwoners',
  gp_capacity_ratio: 'Huisartscapaciteit per patiënt',
  gp_shortfall: 'Patiënten zonder huisartscapaciteit',
  nursing_home_shortfall: 'Tekort verpleeghuisplaatsen',
  nursing_home_places_needed: 'Benodigde verpleeghuisplaatsen',
  wmo_clients: 'Wmo-cliënten',
  home_care_clients: 'Cliënten wijkverpleging',
  liveability_score: 'Leefbaarheidsscore',
  score_physical: 'Leefbaarheid: fysieke omgeving',
  score_facilities: 'Leefbaarheid: voorzieningen',
  total_veh_day: 'Motorvoertuigen per dag',
  vehicle_km_day: 'Voertuigkilometers per dag',
  car_trips_day: 'Autoritten per dag',
  nox_emission_ug_m_s: 'NOx-emissie van een weg',
  emission_lden_db: 'Geluidemissie van een weg (Lden)',
};

/** Dutch names of intervention form fields (the schema's titles are English). */
const fieldNl: Record<string, string> = {
  name: 'Naam',
  dwellings: 'Aantal woningen',
  height_m: 'Bouwhoogte (m)',
  parking_per_dwelling: 'Parkeernorm (plaatsen per woning)',
  nonresidential_floor_m2: 'Niet-woonoppervlak (m²)',
  replace_existing: 'Bestaande gebouwen op de locatie slopen',
  replace_buildings: 'Te slopen gebouwen',
  geometry: 'Geometrie',
  household_mix: 'Huishoudensmix',
  starters: 'Starters',
  families: 'Gezinnen',
  seniors: 'Senioren',
  measure: 'Maatregel',
  roads: 'Wegen',
  zone: 'Zone',
  speed_limit_kmh: 'Maximumsnelheid (km/u)',
  reduction: 'Minder autoritten (aandeel 0–1)',
  action: 'Actie',
  surface: 'Nieuw oppervlak',
  crown_diameter_m: 'Kroondiameter (m)',
  facility_type: 'Soort voorziening',
  location: 'Locatie',
  capacity: 'Capaciteit',
  facility_id: 'Voorziening-id (verwijderen)',
  years: 'Jaren vooruit',
};

const enumNl: Record<string, string> = {
  close_roads: 'wegen afsluiten',
  car_free_zone: 'autovrije zone',
  speed_limit: 'snelheidslimiet',
  trip_reduction: 'minder autoritten',
  green: 'vergroenen',
  depave: 'ontstenen',
  trees: 'bomen planten',
  grass: 'gras',
  water: 'water',
  add: 'toevoegen',
  remove: 'verwijderen',
  gp: 'huisarts',
  pharmacy: 'apotheek',
  supermarket: 'supermarkt',
  school: 'school',
  care_home: 'verpleeghuis',
};

const dictionaries: Record<Lang, Record<Key, string>> = { nl, en };

let current: Lang = 'nl';
const listeners = new Set<(lang: Lang) => void>();

/** The interface text for a key in the current language, with {placeholders} filled in. */
export function t(key: Key, vars?: Record<string, string | number>): string {
  let text = dictionaries[current][key] ?? nl[key];
  if (vars) {
    for (const [name, value] of Object.entries(vars)) {
      text = text.split(`{${name}}`).join(String(value));
    }
  }
  return text;
}

/** True when the dictionary has this key (for keys built from data, e.g. domain names). */
export function hasKey(key: string): key is Key {
  return key in nl;
}

/** A key built from data (type_…, domain_…) if the dictionary knows it, else the fallback text. */
export function tMaybe(key: string, fallback: string): string {
  return hasKey(key) ? t(key) : fallback;
}

export function getLang(): Lang {
  return current;
}

export function setLang(lang: Lang): void {
  if (lang === current) return;
  current = lang;
  document.documentElement.lang = lang;
  for (const listener of listeners) listener(lang);
}

export function onLangChange(listener: (lang: Lang) => void): void {
  listeners.add(listener);
}

/** Text served as {nl, en} (layer catalogue) or as one string. */
export function localized(text: { nl?: string; en?: string } | string | null | undefined): string {
  if (text == null) return '';
  if (typeof text === 'string') return text;
  return (current === 'nl' ? text.nl ?? text.en : text.en ?? text.nl) ?? '';
}

export function indicatorTitle(id: string, englishTitle: string): string {
  return current === 'nl' ? indicatorNl[id] ?? englishTitle : englishTitle;
}

export function fieldTitle(name: string, englishTitle: string): string {
  return current === 'nl' ? fieldNl[name] ?? englishTitle : englishTitle;
}

export function enumTitle(value: string): string {
  return current === 'nl' ? enumNl[value] ?? value.replace(/_/g, ' ') : value.replace(/_/g, ' ');
}

function locale(): string {
  return current === 'nl' ? 'nl-NL' : 'en-GB';
}

/** A number for display: about 3 significant digits for small values, grouped thousands. */
export function formatNumber(value: number | null | undefined, digits?: number): string {
  if (value == null || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  if (digits === undefined && abs > 0 && abs < 0.001) {
    return new Intl.NumberFormat(locale(), { maximumSignificantDigits: 2 }).format(value);
  }
  const fractionDigits = digits ?? (abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : abs === 0 ? 0 : 3);
  return new Intl.NumberFormat(locale(), {
    maximumFractionDigits: fractionDigits,
    minimumFractionDigits: 0,
  }).format(value);
}

/** A signed difference for display (+1.2 / −0.3). */
export function formatSigned(value: number | null | undefined, digits?: number): string {
  if (value == null || Number.isNaN(value)) return '–';
  const text = formatNumber(Math.abs(value), digits);
  if (value > 0) return `+${text}`;
  if (value < 0) return `−${text}`;
  return text;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), {
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  }).format(date);
}

/** Fill [data-i18n] (text), [data-i18n-aria] (aria-label) and [data-i18n-title] (title) in a subtree. */
export function applyI18n(root: ParentNode): void {
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n]')) {
    const key = element.dataset.i18n;
    if (key && hasKey(key)) element.textContent = t(key);
  }
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n-aria]')) {
    const key = element.dataset.i18nAria;
    if (key && hasKey(key)) element.setAttribute('aria-label', t(key));
  }
  for (const element of root.querySelectorAll<HTMLElement>('[data-i18n-title]')) {
    const key = element.dataset.i18nTitle;
    if (key && hasKey(key)) element.title = t(key);
  }
}
