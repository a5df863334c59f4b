// A deck.gl layer that draws all buildings as one indexed triangle mesh (roofs and walls).
// Why not SolidPolygonLayer's extrusion: it draws walls as one instance per footprint edge, and a
// software renderer (SwiftShader, as in the headless tests) runs every instance as its own draw —
// half a million of them took seconds per frame. Flat shading comes from screen-space derivatives,
// so roof and wall vertices are shared; colours are per building, expanded to the vertices. Walls
// are shaded by a fixed sun (not deck.gl's lighting effect): roofs keep their colour.

import { Layer, picking, project32, type DefaultProps, type LayerProps, type UpdateParameters } from '@deck.gl/core';
import { Model } from '@luma.gl/engine';
import type { Buildings } from './data/types';

export type BuildingMeshLayerProps = LayerProps & {
  /** The worker's mesh (positions, building of each vertex, triangles). */
  mesh: Pick<Buildings, 'meshPositions' | 'meshBuilding' | 'meshIndices' | 'chunkStarts' | 'chunkBounds' | 'ids'>;
  /** RGBA per building (length 4 × buildings). */
  colours: Uint8Array;
  /** Change it to upload new colours. */
  colourVersion: number;
};

const vs = /* glsl */ `\
#version 300 es
#define SHADER_NAME building-mesh-layer-vertex-shader
in vec3 positions;
in float buildingIndex;
in vec4 colors;
out vec4 vColor;
out vec3 vPosition;
out vec3 vToCamera;

void main(void) {
  geometry.worldPosition = positions;
  geometry.pickingColor = picking_getPickingColorFromIndex(buildingIndex);
  gl_Position = project_position_to_clipspace(positions, vec3(0.0), vec3(0.0), geometry.position);
  DECKGL_FILTER_GL_POSITION(gl_Position, geometry);
  vPosition = geometry.position.xyz;
  vToCamera = project.cameraPosition - geometry.position.xyz;
  vColor = vec4(colors.rgb, colors.a * layer.opacity);
  DECKGL_FILTER_COLOR(vColor, geometry);
}
`;

const fs = /* glsl */ `\
#version 300 es
#define SHADER_NAME building-mesh-layer-fragment-shader
precision highp float;
const vec2 SUN_DIRECTION = vec2(-0.6, -0.8);
const float WALL_DARKEST = 0.5;
const float WALL_LIGHTEST = 0.85;
in vec4 vColor;
in vec3 vPosition;
in vec3 vToCamera;
out vec4 fragColor;

void main(void) {
  if (vColor.a < 0.01) {
    discard;
  }
  vec3 normal = normalize(cross(dFdx(vPosition), dFdy(vPosition)));
  if (dot(normal, vToCamera) < 0.0) {
    normal = -normal;
  }
  // Roofs keep their colour; walls are darker, by how much they turn away from a low sun in the
  // south-west, so the extrusion reads at a glance (and in print).
  float facing = dot(normalize(normal.xy + vec2(1e-6)), SUN_DIRECTION) * 0.5 + 0.5;
  float shade = mix(WALL_DARKEST + (WALL_LIGHTEST - WALL_DARKEST) * facing, 1.0, abs(normal.z));
  fragColor = vec4(vColor.rgb * shade, vColor.a);
  geometry.uv = vec2(0.0);
  DECKGL_FILTER_COLOR(fragColor, geometry);
}
`;

/** Margin around the view when choosing chunks: tall buildings just outside it still show (m). */
const VIEW_PADDING_M = 400;

const defaultProps: DefaultProps<BuildingMeshLayerProps> = {
  colourVersion: 0,
};

export class BuildingMeshLayer extends Layer<BuildingMeshLayerProps> {
  static override layerName = 'BuildingMeshLayer';
  static override defaultProps = defaultProps;

  declare state: {
    model?: Model;
    numInstances: number;
    mesh: BuildingMeshLayerProps['mesh'];
    colours: Uint8Array;
  };

  override getShaders() {
    return super.getShaders({ vs, fs, modules: [project32, picking] });
  }

  override initializeState(): void {
    // The update callbacks read this.state: it outlives this layer instance (deck.gl hands it on to
    // the next instance with the same id), the props of this instance do not.
    this.getAttributeManager()!.add({
      indices: { size: 1, isIndexed: true, noAlloc: true, update: (attribute) => (attribute.value = this.state.mesh.meshIndices) },
      positions: { size: 3, type: 'float32', noAlloc: true, update: (attribute) => (attribute.value = this.state.mesh.meshPositions) },
      buildingIndex: { size: 1, type: 'float32', noAlloc: true, update: (attribute) => (attribute.value = this.state.mesh.meshBuilding) },
      colors: { size: 4, type: 'unorm8', noAlloc: true, update: (attribute) => (attribute.value = this.vertexColours()) },
    });
    this.setState({ numInstances: this.props.mesh.meshBuilding.length, mesh: this.props.mesh, colours: this.props.colours });
  }

  override updateState({ props, oldProps, changeFlags }: UpdateParameters<this>): void {
    const attributeManager = this.getAttributeManager()!;
    if (changeFlags.extensionsChanged) {
      this.state.model?.destroy();
      this.state.model = this.getModel();
      attributeManager.invalidateAll();
    }
    if (props.mesh !== oldProps.mesh) {
      this.setState({ numInstances: props.mesh.meshBuilding.length, mesh: props.mesh, colours: props.colours });
      attributeManager.invalidateAll();
    } else if (props.colourVersion !== oldProps.colourVersion || props.colours !== oldProps.colours) {
      this.setState({ colours: props.colours });
      attributeManager.invalidate('colors');
    }
  }

  /** The per-building colours expanded to every vertex. */
  private vertexColours(): Uint8ClampedArray {
    const { mesh, colours } = this.state;
    const building = mesh.meshBuilding;
    const out = new Uint8ClampedArray(building.length * 4);
    const source = new Uint32Array(colours.buffer, colours.byteOffset, colours.byteLength / 4);
    const target = new Uint32Array(out.buffer);
    for (let v = 0; v < building.length; v += 1) target[v] = source[building[v] as number] as number;
    return out;
  }

  private getModel(): Model {
    return new Model(this.context.device, {
      ...this.getShaders(),
      id: this.props.id,
      bufferLayout: this.getAttributeManager()!.getBufferLayouts(),
      topology: 'triangle-list',
      isInstanced: false,
    });
  }

  /** Index ranges [first, end) of the chunks in view (padded for tall buildings at the edges). */
  private visibleRanges(): [number, number][] {
    const { chunkStarts, chunkBounds, meshIndices } = this.state.mesh;
    let view: number[] | null = null;
    try {
      view = this.context.viewport.getBounds();
    } catch {
      view = null;
    }
    if (!view || view.some((value) => !Number.isFinite(value))) return [[0, meshIndices.length]];
    const [west, south, east, north] = view as [number, number, number, number];
    const padLat = VIEW_PADDING_M / 111_320;
    const padLon = padLat / Math.cos((((south + north) / 2) * Math.PI) / 180);
    const ranges: [number, number][] = [];
    for (let chunk = 0; chunk < chunkStarts.length - 1; chunk += 1) {
      const first = chunkStarts[chunk] as number;
      const end = chunkStarts[chunk + 1] as number;
      if (first === end) continue;
      const o = chunk * 4;
      const inView =
        (chunkBounds[o] as number) <= east + padLon &&
        (chunkBounds[o + 2] as number) >= west - padLon &&
        (chunkBounds[o + 1] as number) <= north + padLat &&
        (chunkBounds[o + 3] as number) >= south - padLat;
      if (!inView) continue;
      const last = ranges.at(-1);
      if (last && last[1] === first) last[1] = end;
      else ranges.push([first, end]);
    }
    return ranges;
  }

  override draw(): void {
    const model = this.state.model;
    if (!model) return;
    // One draw per run of visible chunks; drawElements takes the offset in bytes (uint32 indices).
    for (const [first, end] of this.visibleRanges()) {
      model.setDrawOffsets({ firstVertex: first * 4, firstIndex: first });
      model.setIndexCount(end - first);
      model.draw(this.context.renderPass);
    }
  }
}
