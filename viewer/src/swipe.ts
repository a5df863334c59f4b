// Swipe comparison: a layer extension that keeps only the pixels left (side -1) or right (side 1)
// of a vertical divider, so a baseline and a scenario layer share one map and one view.

import { LayerExtension, type Layer } from '@deck.gl/core';
import type { ShaderModule } from '@luma.gl/shadertools';

export interface SwipeProps {
  /** Divider position as a fraction of the canvas width (0 = left edge). */
  swipeFraction?: number;
  /** -1 keeps the left part, 1 the right part. */
  swipeSide?: number;
}

type SwipeModuleProps = { splitX: number; side: number };

const swipeModule: ShaderModule<SwipeModuleProps> = {
  name: 'swipe',
  fs: /* glsl */ `\
layout(std140) uniform swipeUniforms {
  float splitX;
  float side;
} swipe;
`,
  uniformTypes: { splitX: 'f32', side: 'f32' },
};

const injection = {
  'fs:DECKGL_FILTER_COLOR': /* glsl */ `
  if ((gl_FragCoord.x - swipe.splitX) * swipe.side < 0.0) discard;
`,
};

export class SwipeExtension extends LayerExtension {
  static override defaultProps = { swipeFraction: 0.5, swipeSide: 1 };
  static override extensionName = 'SwipeExtension';

  override getShaders(): { modules: ShaderModule[]; inject: Record<string, string> } {
    return { modules: [swipeModule as ShaderModule], inject: injection };
  }

  override draw(this: Layer<SwipeProps>): void {
    const fraction = this.props.swipeFraction ?? 0.5;
    const side = this.props.swipeSide ?? 1;
    const [width] = this.context.device.getDefaultCanvasContext().getDrawingBufferSize();
    this.setShaderModuleProps({ swipe: { splitX: fraction * width, side } });
  }
}

export const swipeExtension = new SwipeExtension();
