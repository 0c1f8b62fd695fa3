//! A thin drawing layer over a krilla page surface, in millimetres.
//!
//! Converts mm (top-left origin, y down) to PDF points and keeps the stroke/fill state
//! changes in one place. Every primitive is vector (paths and text), never raster.

use crate::colour::Rgb;
use crate::layout::PT_PER_MM;
use crate::text::{Face, Fonts};
use krilla::color::rgb;
use krilla::geom::{Path, PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::paint::{Fill, FillRule, LineCap, LineJoin, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;

/// Horizontal alignment of a text run relative to its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Centre,
    Right,
}

/// How to draw a text run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TextStyle {
    pub size_pt: f32,
    pub colour: Rgb,
    pub bold: bool,
    pub align: Align,
}

impl TextStyle {
    pub fn new(size_pt: f32, colour: Rgb) -> TextStyle {
        TextStyle {
            size_pt,
            colour,
            bold: false,
            align: Align::Left,
        }
    }
    pub fn bold(mut self) -> TextStyle {
        self.bold = true;
        self
    }
    pub fn align(mut self, align: Align) -> TextStyle {
        self.align = align;
        self
    }
}

/// Builds one path (possibly many sub-paths) in mm.
pub(crate) struct Polyline {
    builder: PathBuilder,
    open: bool,
    empty: bool,
}

impl Polyline {
    pub fn new() -> Polyline {
        Polyline {
            builder: PathBuilder::new(),
            open: false,
            empty: true,
        }
    }
    /// Continue the current sub-path to (x, y), or start one there.
    pub fn point(&mut self, x_mm: f32, y_mm: f32) {
        let (x, y) = (x_mm * PT_PER_MM, y_mm * PT_PER_MM);
        if !(x.is_finite() && y.is_finite()) {
            self.open = false;
            return;
        }
        if self.open {
            self.builder.line_to(x, y);
        } else {
            self.builder.move_to(x, y);
            self.open = true;
        }
        self.empty = false;
    }
    /// End the current sub-path (the next point starts a new one).
    pub fn lift(&mut self) {
        self.open = false;
    }
    pub fn segment(&mut self, x1: f32, y1: f32, x2: f32, y2: f32) {
        self.lift();
        self.point(x1, y1);
        self.point(x2, y2);
        self.lift();
    }
    pub fn finish(self) -> Option<Path> {
        if self.empty {
            None
        } else {
            self.builder.finish()
        }
    }
}

fn paint_colour(c: Rgb) -> rgb::Color {
    rgb::Color::new(c[0], c[1], c[2])
}

fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<Path> {
    let mut b = PathBuilder::new();
    b.push_rect(Rect::from_xywh(
        x * PT_PER_MM,
        y * PT_PER_MM,
        w * PT_PER_MM,
        h * PT_PER_MM,
    )?);
    b.finish()
}

/// Drawing on one page, in mm.
pub(crate) struct Canvas<'s, 'f> {
    pub surface: Surface<'s>,
    pub fonts: &'f Fonts,
}

impl Canvas<'_, '_> {
    /// Stroke a path: `width_mm` wide, `opacity` in [0, 1], round joins.
    pub fn stroke(&mut self, path: Polyline, colour: Rgb, width_mm: f32, opacity: f32) {
        let Some(path) = path.finish() else { return };
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke {
            paint: paint_colour(colour).into(),
            width: width_mm * PT_PER_MM,
            line_cap: LineCap::Butt,
            line_join: LineJoin::Round,
            opacity: NormalizedF32::new(opacity.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE),
            ..Stroke::default()
        }));
        self.surface.draw_path(&path);
        self.surface.set_stroke(None);
    }

    /// Stroke a path with round caps (for the anomaly bands).
    pub fn stroke_round(&mut self, path: Polyline, colour: Rgb, width_mm: f32, opacity: f32) {
        let Some(path) = path.finish() else { return };
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke {
            paint: paint_colour(colour).into(),
            width: width_mm * PT_PER_MM,
            line_cap: LineCap::Round,
            line_join: LineJoin::Round,
            opacity: NormalizedF32::new(opacity.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE),
            ..Stroke::default()
        }));
        self.surface.draw_path(&path);
        self.surface.set_stroke(None);
    }

    /// Fill a rectangle with `opacity` in [0, 1].
    pub fn fill_rect_with_opacity(
        &mut self,
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        colour: Rgb,
        opacity: f32,
    ) {
        let Some(path) = rect_path(x, y, w, h) else {
            return;
        };
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill {
            paint: paint_colour(colour).into(),
            opacity: NormalizedF32::new(opacity.clamp(0.0, 1.0)).unwrap_or(NormalizedF32::ONE),
            ..Fill::default()
        }));
        self.surface.draw_path(&path);
        self.surface.set_fill(None);
    }

    pub fn stroke_rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb, width_mm: f32) {
        let mut p = Polyline::new();
        p.point(x, y);
        p.point(x + w, y);
        p.point(x + w, y + h);
        p.point(x, y + h);
        p.point(x, y);
        self.stroke(p, colour, width_mm, 1.0);
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, colour: Rgb, width_mm: f32) {
        let mut p = Polyline::new();
        p.segment(x1, y1, x2, y2);
        self.stroke(p, colour, width_mm, 1.0);
    }

    /// Restrict drawing to a rectangle until [`Canvas::unclip`].
    pub fn clip(&mut self, x: f32, y: f32, w: f32, h: f32) {
        if let Some(path) = rect_path(x, y, w, h) {
            self.surface.push_clip_path(&path, &FillRule::NonZero);
        } else {
            // Keep push/pop balanced even for a degenerate rectangle.
            self.surface.push_opacity(NormalizedF32::ONE);
        }
    }

    pub fn unclip(&mut self) {
        self.surface.pop();
    }

    fn face(&self) -> &Face {
        &self.fonts.sans
    }

    /// Width of `text` in mm at `size_pt`.
    pub fn text_width(&self, text: &str, size_pt: f32) -> f32 {
        self.face().width_mm(&self.face().printable(text), size_pt)
    }

    /// Draw `text` with its baseline at `y` (mm); returns the x where it ends (mm).
    pub fn text(&mut self, x: f32, y: f32, text: &str, style: TextStyle) -> f32 {
        let face = self.face().clone();
        let text = face.printable(text);
        if text.is_empty() {
            return x;
        }
        let width = face.width_mm(&text, style.size_pt);
        let left = match style.align {
            Align::Left => x,
            Align::Centre => x - width / 2.0,
            Align::Right => x - width,
        };
        let colour = paint_colour(style.colour);
        self.surface.set_fill(Some(Fill {
            paint: colour.into(),
            ..Fill::default()
        }));
        if style.bold {
            self.surface.set_stroke(Some(Stroke {
                paint: colour.into(),
                width: style.size_pt * 0.035,
                line_join: LineJoin::Round,
                ..Stroke::default()
            }));
        } else {
            self.surface.set_stroke(None);
        }
        self.surface.draw_text(
            Point::from_xy(left * PT_PER_MM, y * PT_PER_MM),
            face.font.clone(),
            style.size_pt,
            &text,
            false,
            TextDirection::LeftToRight,
        );
        self.surface.set_fill(None);
        self.surface.set_stroke(None);
        left + width
    }

    /// Draw `label` (muted) followed by `value` (ink); returns where the value ends.
    pub fn field(
        &mut self,
        x: f32,
        y: f32,
        label: &str,
        value: &str,
        size_pt: f32,
        value_colour: Rgb,
    ) -> f32 {
        let x = self.text(
            x,
            y,
            &format!("{label} "),
            TextStyle::new(size_pt, crate::colour::theme::MUTED),
        );
        self.text(x, y, value, TextStyle::new(size_pt, value_colour).bold())
    }
}
