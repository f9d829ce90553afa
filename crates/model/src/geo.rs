//! Plane geometry on lon/lat polygons, enough for boundaries: bounding boxes,
//! point-in-polygon, and simplification for drawing.

/// A closed ring of `[lon, lat]` points (first = last, as GeoJSON writes them).
pub type Ring = Vec<[f64; 2]>;
/// An outer ring and its holes.
pub type Polygon = Vec<Ring>;
pub type MultiPolygon = Vec<Polygon>;

/// `[min lon, min lat, max lon, max lat]`, or `None` for no points.
pub fn bbox(shape: &MultiPolygon) -> Option<[f64; 4]> {
    let mut points = shape.iter().flatten().flatten();
    let first = points.next()?;
    let mut b = [first[0], first[1], first[0], first[1]];
    for p in points {
        b[0] = b[0].min(p[0]);
        b[1] = b[1].min(p[1]);
        b[2] = b[2].max(p[0]);
        b[3] = b[3].max(p[1]);
    }
    Some(b)
}

/// Whether the point lies inside the shape: even–odd ray casting over every ring, so
/// that holes are excluded. A point exactly on an edge may go either way.
pub fn contains(shape: &MultiPolygon, lon: f64, lat: f64) -> bool {
    shape.iter().any(|polygon| {
        let mut inside = false;
        for ring in polygon {
            for edge in ring.windows(2) {
                let ([x1, y1], [x2, y2]) = (edge[0], edge[1]);
                if (y1 > lat) != (y2 > lat) && lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1) {
                    inside = !inside;
                }
            }
        }
        inside
    })
}

/// Douglas–Peucker simplification of each ring to within `tolerance` (degrees),
/// keeping every ring closed and at least four points long.
pub fn simplify(shape: &MultiPolygon, tolerance: f64) -> MultiPolygon {
    shape
        .iter()
        .map(|polygon| {
            polygon
                .iter()
                .map(|ring| simplify_ring(ring, tolerance))
                .collect()
        })
        .collect()
}

fn simplify_ring(ring: &Ring, tolerance: f64) -> Ring {
    if ring.len() <= 4 {
        return ring.clone();
    }
    let mut keep = vec![false; ring.len()];
    keep[0] = true;
    keep[ring.len() - 1] = true;
    // A closed ring's ends coincide: split it at the point farthest from the start.
    let far = (1..ring.len() - 1)
        .max_by(|&a, &b| distance2(ring[0], ring[a]).total_cmp(&distance2(ring[0], ring[b])))
        .unwrap_or(1);
    keep[far] = true;
    let mut stack = vec![(0, far), (far, ring.len() - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (index, d) = (a + 1..b)
            .map(|i| (i, segment_distance(ring[i], ring[a], ring[b])))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .unwrap_or((a, 0.0));
        if d > tolerance {
            keep[index] = true;
            stack.push((a, index));
            stack.push((index, b));
        }
    }
    let mut out: Ring = ring
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(p, _)| *p)
        .collect();
    // Too few points left to draw an area: keep the original.
    if out.len() < 4 {
        out = ring.clone();
    }
    out
}

fn distance2(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

fn segment_distance(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let length2 = distance2(a, b);
    if length2 == 0.0 {
        return distance2(p, a).sqrt();
    }
    let t =
        (((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / length2).clamp(0.0, 1.0);
    distance2(p, [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, size: f64) -> Ring {
        vec![
            [x, y],
            [x + size, y],
            [x + size, y + size],
            [x, y + size],
            [x, y],
        ]
    }

    #[test]
    fn inside_outside_and_holes() {
        let shape: MultiPolygon = vec![vec![square(0.0, 0.0, 10.0), square(4.0, 4.0, 2.0)]];
        assert!(contains(&shape, 1.0, 1.0));
        assert!(!contains(&shape, 5.0, 5.0), "in the hole");
        assert!(!contains(&shape, 11.0, 1.0));
        assert_eq!(bbox(&shape), Some([0.0, 0.0, 10.0, 10.0]));
    }

    #[test]
    fn simplification_drops_near_collinear_points() {
        let mut ring = vec![
            [0.0, 0.0],
            [5.0, 0.001],
            [10.0, 0.0],
            [10.0, 10.0],
            [0.0, 10.0],
            [0.0, 0.0],
        ];
        let simple = simplify(&vec![vec![ring.clone()]], 0.01);
        assert_eq!(simple[0][0].len(), 5);
        assert_eq!(simple[0][0].first(), simple[0][0].last());
        ring.truncate(4);
        ring.push([0.0, 0.0]);
        assert_eq!(
            simplify(&vec![vec![ring.clone()]], 100.0)[0][0].len(),
            ring.len().max(4)
        );
    }
}
